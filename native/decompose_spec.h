// The weight tensors the fused decomposition (decompose.cc, decomposeForward) reads, in its
// argument order, named as in the model's parameter store (src/model/smallEncoder.ts,
// src/model/heads.ts): the convolutions, the per-step BatchNorm scale and shift folded from
// enc.bn<i> by the caller, and the two heads. decomposeForward checks every argument against this
// table and names the weight when one does not fit.
//
// Mirrored by src/model/encoderSpec.ts (nativeEncoderWeights). The addon reports this table
// (decomposeSpec), the loader (src/backend/nativeAddon.ts) refuses an addon whose table differs
// from the TypeScript one, naming the first weight that does, and test/encoderSpec.test.ts compares
// the two over many configurations. A change here is a change there.
#pragma once
#include <string>
#include <vector>

namespace stratum {

// after the n convolution weights enc.conv<i>.w, in decomposeForward's argument order
enum DecomposeSlot { SLOT_SCALE, SLOT_SHIFT, SLOT_HEAD_P_W, SLOT_HEAD_P_B, SLOT_HEAD_C_W, SLOT_HEAD_C_B, SLOT_COUNT };
constexpr const char* kSlotNames[SLOT_COUNT] = {"enc.bn.scale", "enc.bn.shift", "head.p.w", "head.p.b", "head.c.w", "head.c.b"};

// enc.conv<i>.w: the small encoder's 3×3 stride-2 convolutions (src/model/encoder.ts ENCODER_PREFIX)
inline std::string convName(int i) { return "enc.conv" + std::to_string(i) + ".w"; }

// the stem sees the target and the canvas, three channels each
constexpr int kStemChannels = 6;

struct WeightSpec {
  std::string name;
  std::vector<size_t> shape;
  size_t size() const {
    size_t n = 1;
    for (size_t s : shape) n *= s;
    return n;
  }
};

// S: image side, T: steps, K: mask parameters, ch: the convolutions' output channels, flatten: the
// heads read the last map flattened (h·w·C rows) instead of its mean
struct DecomposeShape {
  int S, T, K;
  std::vector<int> ch;
  bool flatten;
};

// side of the last feature map: each 3×3 stride-2 convolution (padding 1) halves it, rounding up
inline int lastSide(int S, int n) {
  for (int i = 0; i < n; i++) S = (S - 1) / 2 + 1;
  return S;
}

// the table: enc.conv0.w .. enc.conv<n-1>.w, then the SLOT_COUNT slots
inline std::vector<WeightSpec> decomposeWeightSpecs(const DecomposeShape& d) {
  std::vector<WeightSpec> w;
  const int n = (int)d.ch.size();
  size_t sumC = 0;
  for (int i = 0; i < n; i++) {
    w.push_back({convName(i), {3, 3, (size_t)(i == 0 ? kStemChannels : d.ch[i - 1]), (size_t)d.ch[i]}});
    sumC += d.ch[i];
  }
  const int side = lastSide(d.S, n);
  const size_t F = (size_t)d.ch[n - 1] * (d.flatten ? (size_t)side * side : 1);
  w.push_back({kSlotNames[SLOT_SCALE], {(size_t)d.T, sumC}});
  w.push_back({kSlotNames[SLOT_SHIFT], {(size_t)d.T, sumC}});
  w.push_back({kSlotNames[SLOT_HEAD_P_W], {F, (size_t)d.K}});
  w.push_back({kSlotNames[SLOT_HEAD_P_B], {(size_t)d.K}});
  w.push_back({kSlotNames[SLOT_HEAD_C_W], {F, 3}});
  w.push_back({kSlotNames[SLOT_HEAD_C_B], {3}});
  return w;
}

}  // namespace stratum
