// The flash attention kernels only non-default settings launch (-Di2vgen.cuda.flashVariant=v2 with 4 or 8 warps,
// v4m1, v4m2): a module of their own, compiled when a plan first asks for one (or ahead when the setting selects
// them), so the default start does not pay for them. Device code: attention_flash.cuh; fp16/bf16 only (an fp32
// module is empty).

#include "attention_flash.cuh"

#if ACT_DTYPE != 0
FA_KERNEL(64, 4, 64)
FA_KERNEL(64, 8, 64)
FA_KERNEL(64, 4, 128)
FA_KERNEL(64, 8, 128)
FA_KERNEL(80, 4, 64)
FA_KERNEL(80, 8, 64)
FA_KERNEL(128, 4, 64)
FA_KERNEL(128, 8, 64)
FA_LEAN_KERNEL(pipe, true, 64, 4, 1, 3)
FA_LEAN_KERNEL(pipe, true, 64, 8, 1, 1)
FA_LEAN_KERNEL(pipe, true, 64, 4, 2, 2)
FA_LEAN_KERNEL(pipe, true, 64, 8, 2, 1)
FA_LEAN_KERNEL(pipe, true, 80, 8, 1, 1)
FA_LEAN_KERNEL(pipe, true, 128, 8, 1, 1)
#endif
