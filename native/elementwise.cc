// Element-wise kernels of the tfjs backend: broadcasting binary ops over strided views (dims
// collapsed by the caller, src/backend/nativeKernels.ts), sums and means over any axes, and unary
// activations, plus the check of the fast tanh every tanh here and in the mask MLP uses.
#include "kernels.h"

namespace stratum {

enum BinOp { ADD = 0, SUB = 1, MUL = 2, DIV = 3, SQDIFF = 4, MAX = 5, MIN = 6 };

template <int OP>
inline float bop(float a, float b) {
  if (OP == ADD) return a + b;
  if (OP == SUB) return a - b;
  if (OP == MUL) return a * b;
  if (OP == DIV) return a / b;
  if (OP == SQDIFF) return (a - b) * (a - b);
  if (OP == MAX) return a > b ? a : b;
  return a < b ? a : b;
}

// out[outShape] = a[aStrides] op b[bStrides]; strides are 0 on broadcast dims. Dims are already
// collapsed by the caller to rank <= 6.
template <int OP>
void binaryStrided(const float* a, const float* b, float* out, const std::vector<int>& shape, const std::vector<long>& sa,
                   const std::vector<long>& sb) {
  int r = shape.size();
  long n = 1;
  for (int s : shape) n *= s;
  if (r == 0) {
    out[0] = bop<OP>(a[0], b[0]);
    return;
  }
  int inner = shape[r - 1];
  long ia = sa[r - 1], ib = sb[r - 1];
  long outer = n / inner;
  std::vector<int> idx(r, 0);
  long offA = 0, offB = 0;
  for (long o = 0; o < outer; o++) {
    float* dst = out + o * inner;
    const float* pa = a + offA;
    const float* pb = b + offB;
    if (ia == 1 && ib == 1) {
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(pa[i], pb[i]);
    } else if (ia == 1 && ib == 0) {
      float bv = pb[0];
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(pa[i], bv);
    } else if (ia == 0 && ib == 1) {
      float av = pa[0];
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(av, pb[i]);
    } else {
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(pa[i * ia], pb[i * ib]);
    }
    // advance the outer index (dims 0..r-2)
    for (int d = r - 2; d >= 0; d--) {
      idx[d]++;
      offA += sa[d];
      offB += sb[d];
      if (idx[d] < shape[d]) break;
      offA -= sa[d] * shape[d];
      offB -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// binary(op, a, b, out, shape, stridesA, stridesB)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = I(info[0]);
  float* a = F32(info[1]);
  float* b = F32(info[2]);
  float* out = F32(info[3]);
  auto shape = Ints(info[4]);
  auto sai = Ints(info[5]);
  auto sbi = Ints(info[6]);
  std::vector<long> sa(sai.begin(), sai.end()), sb(sbi.begin(), sbi.end());
  switch (op) {
    case ADD: binaryStrided<ADD>(a, b, out, shape, sa, sb); break;
    case SUB: binaryStrided<SUB>(a, b, out, shape, sa, sb); break;
    case MUL: binaryStrided<MUL>(a, b, out, shape, sa, sb); break;
    case DIV: binaryStrided<DIV>(a, b, out, shape, sa, sb); break;
    case SQDIFF: binaryStrided<SQDIFF>(a, b, out, shape, sa, sb); break;
    case MAX: binaryStrided<MAX>(a, b, out, shape, sa, sb); break;
    default: binaryStrided<MIN>(a, b, out, shape, sa, sb); break;
  }
  return info.Env().Undefined();
}

// reduceSum(x, shape, keepMask(1 = kept dim), out, scale): out = scale * sum over non-kept dims.
// Iterates x in memory order and accumulates into a double buffer indexed by the kept dims.
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  float* x = F32(info[0]);
  auto shape = Ints(info[1]);
  auto keep = Ints(info[2]);
  float* out = F32(info[3]);
  double scale = D(info[4]);
  int r = shape.size();
  if (keep.size() != shape.size()) {
    Napi::RangeError::New(info.Env(), "reduceSum: shape and keep differ in length").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  for (int d = 0; d < r; d++)
    if (shape[d] == 0) {  // an empty tensor: every kept sum is 0 (and there may be none)
      long nOut = 1;
      for (int k = 0; k < r; k++)
        if (keep[k]) nOut *= shape[k];
      for (long i = 0; i < nOut; i++) out[i] = 0.f;
      return info.Env().Undefined();
    }
  // collapse consecutive dims with the same keep flag
  std::vector<long> cs;
  std::vector<int> ck;
  for (int d = 0; d < r; d++) {
    if (!cs.empty() && ck.back() == keep[d]) cs.back() *= shape[d];
    else {
      cs.push_back(shape[d]);
      ck.push_back(keep[d]);
    }
  }
  long nOut = 1;
  for (size_t d = 0; d < cs.size(); d++)
    if (ck[d]) nOut *= cs[d];
  std::vector<double> acc(nOut, 0.0);
  int R = cs.size();
  // out strides
  std::vector<long> os(R, 0);
  long s = 1;
  for (int d = R - 1; d >= 0; d--)
    if (ck[d]) {
      os[d] = s;
      s *= cs[d];
    }
  long inner = R ? cs[R - 1] : 1;
  long total = 1;
  for (long c : cs) total *= c;
  long outer = total / inner;
  std::vector<long> idx(R, 0);
  long off = 0;
  bool innerKept = R && ck[R - 1];
  for (long o = 0; o < outer; o++) {
    const float* src = x + o * inner;
    if (innerKept) {
      double* dst = acc.data() + off;
      for (long i = 0; i < inner; i++) dst[i] += src[i];
    } else {
      double sum = 0;
      for (long i = 0; i < inner; i++) sum += src[i];
      acc[off] += sum;
    }
    for (int d = R - 2; d >= 0; d--) {
      idx[d]++;
      off += os[d];
      if (idx[d] < cs[d]) break;
      off -= os[d] * cs[d];
      idx[d] = 0;
    }
  }
  for (long i = 0; i < nOut; i++) out[i] = (float)(acc[i] * scale);
  return info.Env().Undefined();
}

enum UnOp { TANH = 0, SIGMOID = 1, RELU = 2, EXP = 3, RSQRT = 4, SQRT = 5, SQUARE = 6, ABS = 7, STEP = 8 };

Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = I(info[0]);
  auto xa = info[1].As<Napi::Float32Array>();
  float* x = xa.Data();
  float* y = F32(info[2]);
  const float alpha = info.Length() > 3 ? info[3].As<Napi::Number>().FloatValue() : 0.f;  // Step's value for x ≤ 0
  long n = xa.ElementLength();
  switch (op) {
    case TANH:
      for (long i = 0; i < n; i++) y[i] = fastTanh(x[i]);
      break;
    case SIGMOID:
      for (long i = 0; i < n; i++) y[i] = 1.f / (1.f + std::exp(-x[i]));
      break;
    case RELU:
      for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
      break;
    case EXP:
      for (long i = 0; i < n; i++) y[i] = std::exp(x[i]);
      break;
    case RSQRT:
      for (long i = 0; i < n; i++) y[i] = 1.f / std::sqrt(x[i]);
      break;
    case SQRT:
      for (long i = 0; i < n; i++) y[i] = std::sqrt(x[i]);
      break;
    case SQUARE:
      for (long i = 0; i < n; i++) y[i] = x[i] * x[i];
      break;
    case STEP:  // tf.step (alpha 0: ReLU's and |x|'s gradients); NaN stays NaN
      for (long i = 0; i < n; i++) y[i] = std::isnan(x[i]) ? x[i] : (x[i] > 0 ? 1.f : alpha);
      break;
    default:
      for (long i = 0; i < n; i++) y[i] = std::fabs(x[i]);
  }
  return info.Env().Undefined();
}

// maxTanhError(): largest |fastTanh − tanh| over a fine grid (checked by the tests)
Napi::Value MaxTanhError(const Napi::CallbackInfo& info) {
  double worst = 0;
  for (int i = -200000; i <= 200000; i++) {
    float x = i * 1e-4f;
    double e = std::fabs((double)fastTanh(x) - std::tanh((double)x));
    if (e > worst) worst = e;
  }
  return Napi::Number::New(info.Env(), worst);
}

}  // namespace stratum
