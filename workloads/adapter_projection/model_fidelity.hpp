#pragma once
// Model-level fidelity of an adapter method on a real base model: base + the exact LoRA against base + the
// method's adapters, on real text, adapter by adapter.
//
// No method exposes "its adapters", and none needs to: every method of this family is linear in X, so its
// outputs on the identity (one token per basis vector e_i, all of adapter k) are the rows of the weight it
// applies for adapter k, W_eff,k^T (base+adapter mode: base and adapter together, as the method really
// computes them, fp16 rounding and all; adapter-only: the delta, added to the model's base). The harness
// runs a fresh instance of the method on that probe (harness/task_family.hpp, MethodProbe), so a method
// added later gets fidelity.model with no code of its own.
#include <memory>
#include <vector>

#include "harness/json.hpp"
#include "harness/task_family.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

// The probe: the problem's projections, base weights and adapters (and its adapters_key, so an encoder
// reuses what it computed for the point), with batch = adapters.size() x max d_in tokens; block j holds the
// identity of each projection's d_in (zero rows past it), every token of it on adapter adapters[j].
std::shared_ptr<AdapterProblem> identity_probe(const AdapterProblem& p, const std::vector<int>& adapters);

// The adapters evaluated: model_eval_adapters of the K, evenly spaced (all of them where K is smaller).
std::vector<int> evaluated_adapters(const AdapterProblem& p);

// {kl, top1_agreement, ppl, ppl_reference, tokens, text, model, adapters, per_adapter[], adapter_effect,
// compared}: the method's model against the exact LoRA's over the evaluated adapters (KL and top-1 their
// means, perplexities over all their tokens), both on the problem's (layer, projection) set; adapter_effect is the unmodified base against the exact LoRA (what
// ignoring the adapters would cost, the scale the method's KL is read against).
Json adapter_model_fidelity(const AdapterProblem& p, const MethodProbe& probe);

}  // namespace lrb
