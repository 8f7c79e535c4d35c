package dev.i2vgen.backend.cuda;

/** A failed CUDA driver, NVRTC or cuBLASLt call; the message names the call and the library's error. */
public class CudaException extends RuntimeException {
    public CudaException(String message) { super(message); }

    public CudaException(String message, Throwable cause) { super(message, cause); }
}
