package dev.i2vgen.cli;

import dev.i2vgen.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.util.Locale;

/** {@code --device} and {@code --dtype}: where and in which precision the pipeline runs (generate and serve). */
public final class DeviceOptions {
    @Option(names = "--device", defaultValue = "jvm", description = "jvm, cuda, opencl or tornado (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--devices", paramLabel = "N[,N]", split = ",",
            description = {"device ordinals: one (the GPU to run on) or two, e.g. 0,1: one video on two GPUs, CFG-parallel",
                    "(each runs one half of the guidance batch); with --device cuda (jvm: two JVM backends, for testing) (default: 0)"})
    int[] devices;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16 (default: ${DEFAULT-VALUE})")
    String dtype;

    /** The backend's name, lower case; a ParameterException naming --device for another. */
    public String backendName(CommandLine cl) {
        String name = device.toLowerCase(Locale.ROOT);
        if (!java.util.List.of("jvm", "cuda", "opencl", "tornado").contains(name)) {
            throw new CommandLine.ParameterException(cl, "--device must be jvm, cuda, opencl or tornado, got '" + device + "'");
        }
        if (name.equals("tornado") && dev.i2vgen.backend.Backends.providers().stream().noneMatch(p -> p.name().equals("tornado"))) {
            throw new CommandLine.ParameterException(cl, TORNADO_MISSING);
        }
        return name;
    }

    /** The --devices ordinals for {@code backendName} (empty: the backend's default device); a ParameterException naming --devices. */
    public java.util.List<Integer> ordinals(String backendName, CommandLine cl) {
        String problem = DeviceBackends.problem(backendName, devices);
        if (problem != null) throw new CommandLine.ParameterException(cl, problem);
        return devices == null ? java.util.List.of() : java.util.Arrays.stream(devices).boxed().toList();
    }

    /** --device tornado where the optional module is not on the class path (a build without -Ptornado, or java -jar). */
    static final String TORNADO_MISSING = "--device tornado needs the optional tornado-backend module and a TornadoVM installation: "
            + "build TornadoVM, set TORNADOVM_HOME and run ./i2vgen, which builds the module (./mvnw -Ptornado) and starts Java "
            + "with TornadoVM's options (README.md, \"TornadoVM backend (optional)\")";

    /** The compute precision; a ParameterException naming --dtype for another. */
    public DType precision(CommandLine cl) {
        try {
            return DType.fromPrecision(dtype);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--dtype: " + e.getMessage());
        }
    }
}
