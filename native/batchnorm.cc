// BatchNorm with batch statistics (training mode of src/model/nn.ts bn(), through
// src/backend/nativeBatchNorm.ts): per-channel moments, the normalised output, and the backward
// for x, γ and β, over NHWC rows × C. Sizes come from the caller's tensors.
#include "kernels.h"

namespace stratum {

// ---------------------------------------------------------------- BatchNorm with batch statistics (NHWC rows × C)
// per-channel Σx and Σx² over rows, blocked float partial sums combined in double
static void channelMoments(const float* x, size_t rows, int C, double* s1, double* s2) {
  std::vector<float> a(C), b(C);
  for (int c = 0; c < C; c++) s1[c] = s2[c] = 0;
  for (size_t r0 = 0; r0 < rows; r0 += 64) {
    size_t r1 = r0 + 64 < rows ? r0 + 64 : rows;
    std::fill(a.begin(), a.end(), 0.f);
    std::fill(b.begin(), b.end(), 0.f);
    for (size_t r = r0; r < r1; r++) {
      const float* row = x + r * C;
      for (int c = 0; c < C; c++) {
        a[c] += row[c];
        b[c] += row[c] * row[c];
      }
    }
    for (int c = 0; c < C; c++) {
      s1[c] += a[c];
      s2[c] += b[c];
    }
  }
}

// bnForward(x, rows, C, gamma, beta, eps, y, mean, variance)
Napi::Value BnForward(const Napi::CallbackInfo& info) {
  const float* x = F32(info[0]);
  size_t rows = (size_t)D(info[1]);
  int C = I(info[2]);
  const float* gamma = F32(info[3]);
  const float* beta = F32(info[4]);
  double eps = D(info[5]);
  float* y = F32(info[6]);
  float* mean = F32(info[7]);
  float* var = F32(info[8]);
  std::vector<double> s1(C), s2(C);
  channelMoments(x, rows, C, s1.data(), s2.data());
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; c++) {
    double m = s1[c] / rows, v = s2[c] / rows - m * m;
    if (v < 0) v = 0;
    mean[c] = (float)m;
    var[c] = (float)v;
    double rs = 1.0 / std::sqrt(v + eps);
    scale[c] = (float)(gamma[c] * rs);
    shift[c] = (float)(beta[c] - m * gamma[c] * rs);
  }
#pragma omp parallel for schedule(static) if (rows * C > 65536)
  for (long r = 0; r < (long)rows; r++) {
    const float* row = x + (size_t)r * C;
    float* out = y + (size_t)r * C;
    for (int c = 0; c < C; c++) out[c] = row[c] * scale[c] + shift[c];
  }
  return info.Env().Undefined();
}

// bnBackward(x, dy, rows, C, gamma, mean, variance, eps, dx, dgamma, dbeta)
Napi::Value BnBackward(const Napi::CallbackInfo& info) {
  const float* x = F32(info[0]);
  const float* dy = F32(info[1]);
  size_t rows = (size_t)D(info[2]);
  int C = I(info[3]);
  const float* gamma = F32(info[4]);
  const float* mean = F32(info[5]);
  const float* var = F32(info[6]);
  double eps = D(info[7]);
  float* dx = F32(info[8]);
  float* dgamma = F32(info[9]);
  float* dbeta = F32(info[10]);
  std::vector<float> rs(C), a(C), b(C);
  std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
  for (int c = 0; c < C; c++) rs[c] = (float)(1.0 / std::sqrt((double)var[c] + eps));
  // Σ dy and Σ dy·xhat per channel
  for (size_t r0 = 0; r0 < rows; r0 += 64) {
    size_t r1 = r0 + 64 < rows ? r0 + 64 : rows;
    std::fill(a.begin(), a.end(), 0.f);
    std::fill(b.begin(), b.end(), 0.f);
    for (size_t r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      const float* gr = dy + r * C;
      for (int c = 0; c < C; c++) {
        a[c] += gr[c];
        b[c] += gr[c] * (xr[c] - mean[c]) * rs[c];
      }
    }
    for (int c = 0; c < C; c++) {
      sdy[c] += a[c];
      sdyx[c] += b[c];
    }
  }
  std::vector<float> k1(C), k2(C), k3(C);
  for (int c = 0; c < C; c++) {
    dgamma[c] = (float)sdyx[c];
    dbeta[c] = (float)sdy[c];
    // dx = γ·rstd·(dy − mean(dy) − xhat·mean(dy·xhat))
    k1[c] = gamma[c] * rs[c];
    k2[c] = (float)(sdy[c] / rows);
    k3[c] = (float)(sdyx[c] / rows);
  }
#pragma omp parallel for schedule(static) if (rows * C > 65536)
  for (long r = 0; r < (long)rows; r++) {
    const float* xr = x + (size_t)r * C;
    const float* gr = dy + (size_t)r * C;
    float* out = dx + (size_t)r * C;
    for (int c = 0; c < C; c++) out[c] = k1[c] * (gr[c] - k2[c] - (xr[c] - mean[c]) * rs[c] * k3[c]);
  }
  return info.Env().Undefined();
}

}  // namespace stratum
