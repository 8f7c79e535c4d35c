package dev.i2vgen.spark;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.util.Iterator;

/**
 * The task of one partition: each job row in, the same row plus its outcome out, one at a time as Spark pulls them.
 * It carries only the settings and the column roles; the pipelines stay in the executor ({@link ExecutorPipelines}).
 */
final class PartitionGeneration implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final BatchSettings settings;
    private final JobColumns columns;

    PartitionGeneration(BatchSettings settings, JobColumns columns) {
        this.settings = settings;
        this.columns = columns;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        RowGeneration generation = new RowGeneration(settings, columns);
        boolean withDevice = settings.deviceCol() != null;
        return new Iterator<>() {
            @Override public boolean hasNext() { return rows.hasNext(); }

            @Override public Row next() {
                Row row = rows.next();
                RowGeneration.Outcome o = generation.run(row);
                int n = row.length();
                Object[] values = new Object[n + JobColumns.OUTPUT_COLUMNS.size() + (withDevice ? 1 : 0)];
                for (int i = 0; i < n; i++) values[i] = row.get(i);
                values[n] = o.outputPath();
                values[n + 1] = o.status();
                values[n + 2] = o.error();
                values[n + 3] = o.seconds();
                if (withDevice) values[n + 4] = o.device();
                return RowFactory.create(values);
            }
        };
    }
}
