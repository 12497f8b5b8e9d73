// The CUDA backend compiled as plain C++ against the CPU emulator
// (-DEMBER_CUDA_EMULATE=ON): for running the kernels' tests without a GPU.
#include "runtime.cu"
#include "kernels.cu"
#include "tensor_ops.cu"
#include "depthwise.cu"
#include "rnn.cu"
#include "image.cu"
