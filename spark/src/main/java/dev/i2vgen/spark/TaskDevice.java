package dev.i2vgen.spark;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.cuda.CudaBackend;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * Where the running task is: its executor and the GPU Spark gave it ({@code TaskContext.resources()}, from
 * {@code spark.task.resource.gpu.amount} and the executor's discovery script), or none.
 *
 * @param executorId  the executor's id ("driver" in local mode)
 * @param gpuAddress  the task's GPU address (the first when it holds several), or null without one
 */
record TaskDevice(String executorId, String gpuAddress) {
    /** The name of the GPU resource in Spark's configuration ({@code spark.executor.resource.gpu.amount}). */
    static final String GPU = "gpu";

    /** The device of the task running on this thread (outside a task: the driver, no GPU). */
    static TaskDevice current() {
        TaskContext task = TaskContext.get();
        String address = null;
        if (task != null) {
            ResourceInformation gpu = task.resourcesJMap().get(GPU);
            if (gpu != null && gpu.addresses().length > 0) address = gpu.addresses()[0];
        }
        SparkEnv env = SparkEnv.get();
        return new TaskDevice(env != null ? env.executorId() : "driver", address);
    }

    /** The backend a row runs on: {@code auto} is CUDA with a GPU and the JVM backend without one; else the one named. */
    String backendName(String device) {
        return device.equals("auto") ? (gpuAddress != null ? "cuda" : "jvm") : device;
    }

    /**
     * Opens the named backend on this task's device: CUDA on the device whose ordinal is the GPU address (device 0
     * without one), the others as {@link Backends#create} opens them.
     *
     * @throws IllegalArgumentException for a GPU address that is not a CUDA ordinal
     * @throws IllegalStateException    when the backend is not available here, with the reason
     */
    Backend openBackend(String name) {
        if (!name.equals("cuda") || gpuAddress == null) return Backends.create(name);
        int ordinal;
        try {
            ordinal = Integer.parseInt(gpuAddress.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("GPU address '" + gpuAddress + "' (from Spark's GPU discovery script) is not"
                    + " a CUDA device ordinal: the script must print indices such as \"0\", \"1\"");
        }
        BackendProvider cuda = Backends.provider("cuda");
        if (!cuda.isAvailable()) throw new IllegalStateException("backend 'cuda' is not available: " + cuda.unavailableReason());
        return CudaBackend.create(ordinal);
    }

    /** For the device column: executor, GPU address and backend. */
    String describe(String backend) {
        return "executor " + executorId + ", GPU " + (gpuAddress != null ? gpuAddress : "none") + ", " + backend + " backend";
    }
}
