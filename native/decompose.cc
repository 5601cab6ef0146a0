// One image's whole decomposition at inference in one call: the small encoder's 3×3 stride-2
// convolutions with BatchNorm folded per step, the heads, the mask MLP (mask_forward.cc) and the
// canvas update, for all T steps. The weights it reads are the table of decompose_spec.h (mirrored
// by src/model/encoderSpec.ts); every size is checked against it (args.h) before anything runs.
#include "args.h"
#include "decompose_spec.h"

namespace stratum {

// ---------------------------------------------------------------- one image's decomposition (inference)
// The decomposer's forward (src/model/decomposer.ts with the small encoder of
// src/model/smallEncoder.ts and inference BatchNorm) for ONE image, all T steps in one call:
//   h_0 = relu(a_0t ⊙ (W_target * target + W_canvas * canvas) + b_0t)    3×3 stride-2 convolutions,
//   h_i = relu(a_it ⊙ (W_i * h_{i−1}) + b_it)                               BatchNorm folded per step t
//   f = mean_xy h_last (or h_last flattened),  p_t = f·W_p + b_p,  c_t = σ(f·W_c + b_c)   into a scale a and shift b
//   M_t = f(x, y, p_t) (the mask MLP above),  canvas = canvas·(1 − M_t) + c_t·M_t
// Same math as the tfjs definition, which for one image is ~35 small tfjs ops per step whose
// dispatch cost a third of a 32² decomposition (test/native.test.ts holds the two equal).
// decomposeForward(dims [S, T, K, n, C_0..C_{n−1}], maskDims [1, S·S, K, H, G, L, pixel], eps, target [S·S·3],
//   convW[n] ([3,3,6,C_0], [3,3,C_{i−1},C_i]), scale [T·ΣC], shift [T·ΣC], headP [C_{n−1}·K], headPb [K],
//   headC [C_{n−1}·3], headCb [3], coords [S·S·2], maskW[4L+2], outP [T·K], outC [T·3], outMasks [T·S·S],
//   outCanvas [S·S·3], flatten (optional boolean: the heads read the last map flattened, h·w·C_{n−1}
//   rows in NHWC order, instead of its mean)
constexpr int MAX_DEC_SIZE = 4096, MAX_DEC_STEPS = 4096, MAX_DEC_CONVS = 16, MAX_DEC_CHANNELS = 4096;

// 3×3, stride 2, padding 1 convolution of one NHWC image [H,W,C] with w [9·C, CO] (rows (kh·3+kw)·C + c)
static void conv3s2(const float* x, int H, int W, int C, const float* w, int CO, float* y, std::vector<float>& cols) {
  const int OH = (H - 1) / 2 + 1, OW = (W - 1) / 2 + 1;
  cols.resize((size_t)OH * OW * 9 * C);
  im2col(x, 1, H, W, C, 3, 3, 2, 2, 1, 1, 1, 1, OH, OW, cols.data());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OH * OW, CO, 9 * C, 1.f, cols.data(), 9 * C, w, CO, 0.f, y, CO);
}

// dims [S, T, K, n, C_0..C_{n−1}] and flatten, checked: the shape the weight table is computed for
static DecomposeShape ParseDecomposeDims(const Napi::Value& dims, const Napi::Value& flat, ArgError& e) {
  DecomposeShape d{0, 0, 0, {}, false};
  auto fail = [&](const char* m) {
    e.msg = m;
    return d;
  };
  if (!dims.IsArray()) return fail("dims must be [S, T, K, n, C_0, ...]");
  auto da = dims.As<Napi::Array>();
  std::vector<int> dv;
  for (uint32_t i = 0; i < da.Length() && i < 4 + MAX_DEC_CONVS; i++) {
    Napi::Value v = da.Get(i);
    double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= 1 && x <= 1e6 && x == std::floor(x))) return fail("dims must be positive integers");
    dv.push_back((int)x);
  }
  if (dv.size() < 5) return fail("dims must be [S, T, K, n, C_0, ...]");
  const int S = dv[0], T = dv[1], K = dv[2], nConv = dv[3];
  if (S > MAX_DEC_SIZE || T > MAX_DEC_STEPS || K > MAX_MASK_K) return fail("S, T or K out of range");
  if (nConv > MAX_DEC_CONVS || da.Length() != (uint32_t)(4 + nConv)) return fail("dims must list n channel counts");
  std::vector<int> ch(dv.begin() + 4, dv.end());
  for (int c : ch)
    if (c > MAX_DEC_CHANNELS) return fail("channel count out of range");
  if (!flat.IsBoolean() && !flat.IsUndefined()) return fail("flatten must be a boolean");
  d = DecomposeShape{S, T, K, ch, flat.IsBoolean() && flat.As<Napi::Boolean>().Value()};
  return d;
}

// a Float32Array holding exactly the values of weight spec w (named by it when it does not)
static float* F32W(const Napi::Value& v, const WeightSpec& w, ArgError& e) { return F32N(v, w.size(), w.name.c_str(), e); }

// decomposeSpec(dims [S, T, K, n, C_0..C_{n−1}], flatten): the weight table decomposeForward checks
// its arguments against, as [[name, [shape]], ...] (for src/backend/nativeAddon.ts to compare)
Napi::Value DecomposeSpec(const Napi::CallbackInfo& info) {
  ArgError e;
  const Napi::Env env = info.Env();
  const DecomposeShape shape = ParseDecomposeDims(info[0], info[1], e);
  if (!e.msg.empty()) return argFail(env, "decomposeSpec", e);
  const auto spec = decomposeWeightSpecs(shape);
  auto out = Napi::Array::New(env, spec.size());
  for (size_t i = 0; i < spec.size(); i++) {
    auto dims = Napi::Array::New(env, spec[i].shape.size());
    for (size_t k = 0; k < spec[i].shape.size(); k++) dims.Set((uint32_t)k, Napi::Number::New(env, (double)spec[i].shape[k]));
    auto row = Napi::Array::New(env, 2);
    row.Set((uint32_t)0, Napi::String::New(env, spec[i].name));
    row.Set((uint32_t)1, dims);
    out.Set((uint32_t)i, row);
  }
  return out;
}

Napi::Value DecomposeForward(const Napi::CallbackInfo& info) {
  ArgError e;
  const Napi::Env env = info.Env();
  auto fail = [&](const std::string& m) {
    e.msg = m;
    return argFail(env, "decomposeForward", e);
  };
  const DecomposeShape shape = ParseDecomposeDims(info[0], info.Length() > 17 ? info[17] : env.Undefined(), e);
  if (!e.msg.empty()) return argFail(env, "decomposeForward", e);
  const int S = shape.S, T = shape.T, K = shape.K, nConv = (int)shape.ch.size();
  const std::vector<int>& ch = shape.ch;
  int sumC = 0;
  for (int c : ch) sumC += c;
  MaskDims d = ParseDims(info[1], info[2], e);
  if (!e.msg.empty()) return argFail(env, "decomposeForward", e);
  if (d.B != 1 || d.P != S * S || d.K != K) return fail("mask dims must be [1, S·S, K, H, G, L, pixel]");
  const bool flatten = shape.flatten;
  std::vector<int> hs(nConv + 1), ws(nConv + 1);
  hs[0] = ws[0] = S;
  for (int i = 0; i < nConv; i++) {
    hs[i + 1] = (hs[i] - 1) / 2 + 1;
    ws[i + 1] = (ws[i] - 1) / 2 + 1;
  }
  const int CL = ch[nConv - 1], lastRows = hs[nConv] * ws[nConv];
  const int P = S * S, F = flatten ? CL * lastRows : CL;
  const float* target = F32N(info[3], (size_t)P * 3, "target", e);
  // the weights, by the table of decompose_spec.h
  const std::vector<WeightSpec> spec = decomposeWeightSpecs(shape);
  const WeightSpec* slot = spec.data() + nConv;
  std::vector<const float*> convW;
  if (e.msg.empty() && !info[4].IsArray()) e.msg = "conv weights must be a list";
  if (e.msg.empty() && info[4].As<Napi::Array>().Length() != (uint32_t)nConv) e.msg = "conv weights must hold " + std::to_string(nConv) + " arrays";
  for (int i = 0; i < nConv && e.msg.empty(); i++) convW.push_back(F32W(info[4].As<Napi::Array>().Get(i), spec[i], e));
  const float* scale = F32W(info[5], slot[SLOT_SCALE], e);
  const float* shift = F32W(info[6], slot[SLOT_SHIFT], e);
  const float* wp = F32W(info[7], slot[SLOT_HEAD_P_W], e);
  const float* bp = F32W(info[8], slot[SLOT_HEAD_P_B], e);
  const float* wc = F32W(info[9], slot[SLOT_HEAD_C_W], e);
  const float* bc = F32W(info[10], slot[SLOT_HEAD_C_B], e);
  const float* coords = F32N(info[11], (size_t)P * 2, "coords", e);
  auto mw = F32ListN(info[12], weightLens(d), false, "mask weights", e);
  float* outP = F32N(info[13], (size_t)T * K, "outP", e);
  float* outC = F32N(info[14], (size_t)T * 3, "outC", e);
  float* outM = F32N(info[15], (size_t)T * P, "outMasks", e);
  float* canvas = F32N(info[16], (size_t)P * 3, "outCanvas", e);
  if (!e.msg.empty()) return argFail(env, "decomposeForward", e);

  // the stem's weight split by input channel: target (0..2) and canvas (3..5) halves, [27, C_0] each
  const int C0 = ch[0];
  std::vector<float> wT((size_t)27 * C0), wCv((size_t)27 * C0);
  for (int k = 0; k < 9; k++)
    for (int c = 0; c < 3; c++) {
      std::memcpy(wT.data() + ((size_t)k * 3 + c) * C0, convW[0] + ((size_t)k * 6 + c) * C0, sizeof(float) * C0);
      std::memcpy(wCv.data() + ((size_t)k * 3 + c) * C0, convW[0] + ((size_t)k * 6 + 3 + c) * C0, sizeof(float) * C0);
    }
  std::vector<float> cols, stemT((size_t)hs[1] * ws[1] * C0), feat(F), pv(K);
  std::vector<std::vector<float>> h(nConv);
  for (int i = 0; i < nConv; i++) h[i].resize((size_t)hs[i + 1] * ws[i + 1] * ch[i]);
  conv3s2(target, S, S, 3, wT.data(), C0, stemT.data(), cols);
  std::fill(canvas, canvas + (size_t)P * 3, 0.f);
  const std::vector<float*> none;
  for (int t = 0; t < T; t++) {
    const float* sc = scale + (size_t)t * sumC;
    const float* sh = shift + (size_t)t * sumC;
    int off = 0;
    for (int i = 0; i < nConv; i++) {
      const int CO = ch[i];
      float* y = h[i].data();
      const size_t rows = (size_t)hs[i + 1] * ws[i + 1];
      if (i == 0) {
        conv3s2(canvas, S, S, 3, wCv.data(), CO, y, cols);
        for (size_t r = 0; r < rows * CO; r++) y[r] += stemT[r];
      } else {
        conv3s2(h[i - 1].data(), hs[i], ws[i], ch[i - 1], convW[i], CO, y, cols);
      }
      for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < CO; c++) {
          const float v = y[r * CO + c] * sc[off + c] + sh[off + c];
          y[r * CO + c] = v > 0.f ? v : 0.f;
        }
      off += CO;
    }
    if (flatten) {
      std::copy(h[nConv - 1].begin(), h[nConv - 1].end(), feat.begin());
    } else {
      std::fill(feat.begin(), feat.end(), 0.f);
      for (int r = 0; r < lastRows; r++)
        for (int c = 0; c < CL; c++) feat[c] += h[nConv - 1][(size_t)r * CL + c];
      for (int c = 0; c < CL; c++) feat[c] /= (float)lastRows;
    }
    float* p = outP + (size_t)t * K;
    for (int k = 0; k < K; k++) {
      float a = bp[k];
      for (int c = 0; c < F; c++) a += feat[c] * wp[(size_t)c * K + k];
      p[k] = a;
    }
    float* col = outC + (size_t)t * 3;
    for (int k = 0; k < 3; k++) {
      float a = bc[k];
      for (int c = 0; c < F; c++) a += feat[c] * wc[(size_t)c * 3 + k];
      col[k] = 1.f / (1.f + std::exp(-a));
    }
    float* m = outM + (size_t)t * P;
    maskForwardCore(d, coords, p, mw, m, none, none, none, none, none);
    for (int q = 0; q < P; q++) {
      const float mq = m[q];
      for (int k = 0; k < 3; k++) canvas[(size_t)q * 3 + k] = canvas[(size_t)q * 3 + k] * (1.f - mq) + col[k] * mq;
    }
  }
  return env.Undefined();
}

}  // namespace stratum
