package dev.i2vgen.backend.opencl;

/** An OpenCL call failed, or the OpenCL runtime is missing; the message names the call and the error code. */
public final class OpenClException extends RuntimeException {
    public OpenClException(String message) { super(message); }
}
