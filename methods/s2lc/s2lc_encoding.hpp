#pragma once
// The S2LC encoding of a whole adapter_projection problem (offline, untimed; its time is recorded):
// per layer-projection the shared basis V_common (fp16), and per adapter U_k = dW_k V_common with its
// two-stage code. Every storage layout is derived from the same indices, so u8x2, packed and fp16 differ
// only in how U_k is stored.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/json.hpp"
#include "harness/method.hpp"
#include "methods/s2lc/s2lc_basis.hpp"
#include "methods/s2lc/s2lc_codes.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::s2lc {

enum class Layout { u8x2, packed, fp16 };
Layout parse_layout(const std::string& name);
const char* to_string(Layout layout);

struct AdapterCode {
  QuantizedMatrix q;                 // i1, i2 (d_out x R, row-major) and the fp16 codebooks
  std::vector<std::uint8_t> packed;  // the packed layout of q's indices (empty when d_out * R % 8 != 0)
  std::vector<Half> u16;             // U_k unquantized in fp16 (the fp16 layout)
};

struct ProjectionEncoding {
  int d_in = 0, d_out = 0, R = 0;
  MatrixH V;  // d_in x R
  std::vector<AdapterCode> adapters;
};

struct Encoding {
  int R = 0;
  std::vector<ProjectionEncoding> projections;
  Json stats;             // basis solver, energy kept, quantization and roundtrip errors (see encode())
  double encode_s = 0;    // wall time of the encoder
};

// Encodes every projection of the problem (in parallel over projections). Throws if R > d_in.
Encoding encode(const AdapterProblem& problem, int R, const BasisOptions& options = {});
// The same, made once per (adapters, R): the last encoding is kept and reused by every variant, prepared
// copy and point with the same adapters (problem.adapters_key). `computed` says whether this call encoded.
std::shared_ptr<const Encoding> cached_encoding(const AdapterProblem& problem, int R, bool* computed = nullptr);

// U_k as the decoder sees it: fp32 values of element (row, col) for a layout.
float decoded(const AdapterCode& code, Layout layout, std::size_t element);
// All of U_k (d_out x R) decoded from the stored layout (the packed layout is unpacked first).
MatrixF decode_adapter(const AdapterCode& code, Layout layout, int d_out, int R);

// One adapter's stored code in a layout: its size and its bytes, from the encoding's buffers (u8x2: i1
// then i2; packed: the packed planes; fp16: U_k), and the footprint component codes are counted under.
std::size_t code_bytes(const AdapterCode& code, Layout layout);
void copy_code(const AdapterCode& code, Layout layout, unsigned char* dst);
const char* code_component(Layout layout);  // "indices" or "adapters_fp16"

// Stored bytes by component, counted from the encoding's buffers for the chosen layout and the adapters
// held (all K). Components: shared_bases (V_common, fp16), indices (u8x2 / packed) or adapters_fp16, and
// codebooks (fp16, 24 per adapter and projection).
Footprint stored_bytes(const Encoding& encoding, Layout layout);

}  // namespace lrb::s2lc
