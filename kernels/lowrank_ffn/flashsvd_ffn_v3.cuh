#pragma once
// flashsvd_ffn's decode kernel v3 (flashsvd_ffn_v3.cu), dispatched to by flashsvd_ffn.cu where the args ask
// for it: one cooperative launch, one block an SM in all three phases, the phase-B tiles streamed through a
// ring of cp.async stages from the launch's start. flashsvd_ffn.cuh holds the contract.
#include "kernels/lowrank_ffn/flashsvd_ffn.cuh"

namespace lrb::kernels::ffn_v3 {

bool supported(const FlashsvdFfnDecodeArgs& shape);
int configure(const FlashsvdFfnDecodeArgs& shape);
void launch(const FlashsvdFfnDecodeArgs& args, cudaStream_t stream);

}  // namespace lrb::kernels::ffn_v3
