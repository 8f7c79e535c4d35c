package dev.i2vgen.backend.opencl;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** One OpenCL device and its platform, with the limits the kernels are sized by. */
record OpenClDevice(MemorySegment platform, MemorySegment id, String name, String platformName, String version,
                    boolean gpu, long localMemBytes, long maxWorkGroupSize, long maxAllocBytes) {

    /**
     * The device to use: {@code -Di2vgen.opencl.device=N} (index into every device of every platform, in
     * platform order), else the first GPU, else the first device of any type.
     */
    static OpenClDevice choose(OpenCl cl) {
        List<MemorySegment> platforms = cl.platforms();
        if (platforms.isEmpty()) {
            throw new OpenClException("no OpenCL platform: the ICD loader " + cl.libraryPath()
                    + " found no driver in /etc/OpenCL/vendors (install one, e.g. the NVIDIA driver or pocl-opencl-icd)");
        }
        List<OpenClDevice> all = new ArrayList<>();
        for (MemorySegment p : platforms) for (MemorySegment d : cl.devices(p, OpenCl.CL_DEVICE_TYPE_ALL)) all.add(describe(cl, p, d));
        if (all.isEmpty()) throw new OpenClException("no OpenCL device on the " + platforms.size() + " platform(s) found by " + cl.libraryPath());
        String chosen = System.getProperty("i2vgen.opencl.device");
        if (chosen != null) {
            int i;
            try {
                i = Integer.parseInt(chosen.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("-Di2vgen.opencl.device must be a device index, got '" + chosen + "'");
            }
            if (i < 0 || i >= all.size()) {
                throw new IllegalArgumentException("-Di2vgen.opencl.device=" + i + " but only " + all.size() + " OpenCL device(s) exist: "
                        + all.stream().map(OpenClDevice::name).toList());
            }
            return all.get(i);
        }
        return all.stream().filter(OpenClDevice::gpu).findFirst().orElse(all.get(0));
    }

    private static OpenClDevice describe(OpenCl cl, MemorySegment platform, MemorySegment device) {
        long type = cl.deviceLong(device, OpenCl.CL_DEVICE_TYPE);
        return new OpenClDevice(platform, device, cl.deviceString(device, OpenCl.CL_DEVICE_NAME),
                cl.platformString(platform, OpenCl.CL_PLATFORM_NAME), cl.deviceString(device, OpenCl.CL_DEVICE_VERSION),
                (type & OpenCl.CL_DEVICE_TYPE_GPU) != 0, cl.deviceLong(device, OpenCl.CL_DEVICE_LOCAL_MEM_SIZE),
                cl.deviceLong(device, OpenCl.CL_DEVICE_MAX_WORK_GROUP_SIZE), cl.deviceLong(device, OpenCl.CL_DEVICE_MAX_MEM_ALLOC_SIZE));
    }
}
