// The mask MLP's backward (src/core/maskNet.ts, through tf.customGrad in
// src/backend/nativeMaskNet.ts): gradients of every mask weight and of the layer parameters p from
// the activations the forward saved, GroupNorm's backward per image or per pixel. Every size is
// checked (args.h) before it runs.
#include "args.h"

namespace stratum {

// out[h] = Σ_r x[r, h], blocked float partial sums combined in double
static void columnSums(const float* x, size_t rows, int H, float* out) {
  std::vector<double> tot(H, 0.0);
  std::vector<float> acc(H, 0.f);
  for (size_t r0 = 0; r0 < rows; r0 += 256) {
    size_t r1 = r0 + 256 < rows ? r0 + 256 : rows;
    std::fill(acc.begin(), acc.end(), 0.f);
    for (size_t r = r0; r < r1; r++)
      for (int h = 0; h < H; h++) acc[h] += x[r * H + h];
    for (int h = 0; h < H; h++) tot[h] += acc[h];
  }
  for (int h = 0; h < H; h++) out[h] = (float)tot[h];
}

// maskBackward(dims, eps, coords, p, weights, masks, xhat[L], act[L], rstd[L], dmasks, grads[4L+2], dp)
Napi::Value MaskBackward(const Napi::CallbackInfo& info) {
  ArgError e;
  MaskDims d = ParseDims(info[0], info[1], e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskBackward", e);
  const size_t BP = (size_t)d.B * d.P, BPH = BP * d.H;
  const std::vector<size_t> perLayer(d.L, BPH), rstdLens(d.L, (d.pixel ? BP : (size_t)d.B) * d.G);
  const float* coords = F32N(info[2], (size_t)d.P * 2, "coords", e);
  const float* p = F32N(info[3], (size_t)d.B * d.K, "p", e);
  auto w = F32ListN(info[4], weightLens(d), false, "weights", e);
  const float* masks = F32N(info[5], BP, "masks", e);
  auto xhat = F32ListN(info[6], perLayer, false, "xhat", e);
  auto act = F32ListN(info[7], perLayer, false, "act", e);
  auto rstd = F32ListN(info[8], rstdLens, false, "rstd", e);
  const float* dm = F32N(info[9], BP, "dmasks", e);
  auto gr = F32ListN(info[10], weightLens(d), false, "grads", e);
  float* dp = F32N(info[11], (size_t)d.B * d.K, "dp", e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskBackward", e);
  const int B = d.B, P = d.P, K = d.K, H = d.H, L = d.L, G = d.G, C = H / G;
  const size_t rows = (size_t)B * P, n = rows * H;
  float* dlp = scratch(5, rows);
  float* dap = scratch(6, n);
  float* dhp = scratch(7, n);
  struct View {
    float* p;
    float& operator[](size_t i) { return p[i]; }
    float* data() { return p; }
  } dl{dlp}, da{dap}, dh{dhp};
  std::vector<float> layer0S, layer0R;  // layer 0: Σ_b dh per pixel (per thread in image mode), Σ_q dh per image
  for (size_t r = 0; r < rows; r++) dl[r] = dm[r] * masks[r] * (1.f - masks[r]);
  // output layer
  const float* aLast = act[L - 1];
  cblas_sgemv(CblasRowMajor, CblasTrans, rows, H, 1.f, aLast, H, dl.data(), 1, 0.f, gr[4 * L], 1);
  double sbo = 0;
  for (size_t r = 0; r < rows; r++) sbo += dl[r];
  gr[4 * L + 1][0] = (float)sbo;
  const float* wo = w[4 * L];
#pragma omp parallel for schedule(static)
  for (long r = 0; r < (long)rows; r++)
    for (int h = 0; h < H; h++) da[(size_t)r * H + h] = dl[r] * wo[h];
  for (int i = L - 1; i >= 0; i--) {
    const float* a = act[i];
    const float* xh = xhat[i];
    const float* gamma = w[4 * i + 2];
    float* dgamma = gr[4 * i + 2];
    float* dbeta = gr[4 * i + 3];
    // dz = da·(1 − a²); dγ = Σ dz·xhat; dβ = Σ dz; dxhat = dz·γ (in place in da);
    // dh = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) over each group
    if (!d.pixel) {
      // per-image statistics: one image at a time, all three passes while its rows (2 × 512 KB
      // at 32², H = 128) are in cache; layer 0 also sums dh per pixel (S) and per image (R0)
      const int nt = omp_get_max_threads();
      std::vector<float> dgT((size_t)nt * H, 0.f), dbT((size_t)nt * H, 0.f);
      if (i == 0) {
        layer0S.assign((size_t)nt * P * H, 0.f);
        layer0R.assign((size_t)B * H, 0.f);
      }
#pragma omp parallel num_threads(nt)
      {
        const int t = omp_get_thread_num();
        float* dgl = dgT.data() + (size_t)t * H;
        float* dbl = dbT.data() + (size_t)t * H;
        float* St = i == 0 ? layer0S.data() + (size_t)t * P * H : nullptr;
        std::vector<float> accG(H), accB(H), c1(H), c2(H);
        float m1[MAX_MASK_GROUPS], m2[MAX_MASK_GROUPS], rs[MAX_MASK_GROUPS], m1H[MAX_MASK_HIDDEN], m2H[MAX_MASK_HIDDEN], rsH[MAX_MASK_HIDDEN];
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
          std::fill(accG.begin(), accG.end(), 0.f);
          std::fill(accB.begin(), accB.end(), 0.f);
          std::fill(c1.begin(), c1.end(), 0.f);
          std::fill(c2.begin(), c2.end(), 0.f);
          for (int q = 0; q < P; q++) {
            const size_t o = ((size_t)b * P + q) * H;
            for (int h = 0; h < H; h++) {
              const float x = xh[o + h];
              const float dz = da[o + h] * (1.f - a[o + h] * a[o + h]);
              accG[h] += dz * x;
              accB[h] += dz;
              const float dx = dz * gamma[h];
              da[o + h] = dx;
              c1[h] += dx;
              c2[h] += dx * x;
            }
            if ((q & 255) == 255 || q == P - 1) {  // flush to limit float drift
              for (int h = 0; h < H; h++) {
                dgl[h] += accG[h];
                dbl[h] += accB[h];
                accG[h] = accB[h] = 0.f;
              }
            }
          }
          for (int g = 0; g < G; g++) {
            double a1 = 0, a2 = 0;
            for (int c = 0; c < C; c++) {
              a1 += c1[g * C + c];
              a2 += c2[g * C + c];
            }
            m1[g] = (float)(a1 / ((double)d.R * C));
            m2[g] = (float)(a2 / ((double)d.R * C));
            rs[g] = rstd[i][b * G + g];
          }
          expandGroups(m1, G, C, m1H);
          expandGroups(m2, G, C, m2H);
          expandGroups(rs, G, C, rsH);
          float* Rb = i == 0 ? layer0R.data() + (size_t)b * H : nullptr;
          for (int q = 0; q < P; q++) {
            const size_t o = ((size_t)b * P + q) * H;
            if (q < d.R) {  // pixels that make the statistics
              for (int h = 0; h < H; h++) dh[o + h] = rsH[h] * (da[o + h] - m1H[h] - xh[o + h] * m2H[h]);
            } else {
              for (int h = 0; h < H; h++) dh[o + h] = rsH[h] * da[o + h];
            }
            if (i == 0) {
              float* sq = St + (size_t)q * H;
              for (int h = 0; h < H; h++) {
                sq[h] += dh[o + h];
                Rb[h] += dh[o + h];
              }
            }
          }
        }
      }
      for (int h = 0; h < H; h++) {
        float g = 0.f, bb = 0.f;
        for (int t = 0; t < nt; t++) {
          g += dgT[(size_t)t * H + h];
          bb += dbT[(size_t)t * H + h];
        }
        dgamma[h] = g;
        dbeta[h] = bb;
      }
      if (i == 0)
        for (int t = 1; t < nt; t++)
          for (size_t k = 0; k < (size_t)P * H; k++) layer0S[k] += layer0S[(size_t)t * P * H + k];
    } else {
      const int nt = 2;
      std::vector<float> dgT((size_t)nt * H, 0.f), dbT((size_t)nt * H, 0.f);
#pragma omp parallel for schedule(static) num_threads(nt)
      for (int t = 0; t < nt; t++) {
        float* dgl = dgT.data() + (size_t)t * H;
        float* dbl = dbT.data() + (size_t)t * H;
        size_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        std::vector<float> accG(H, 0.f), accB(H, 0.f);
        for (size_t r = r0; r < r1; r++) {
          const size_t o = r * H;
          for (int h = 0; h < H; h++) {
            float dz = da[o + h] * (1.f - a[o + h] * a[o + h]);
            accG[h] += dz * xh[o + h];
            accB[h] += dz;
            da[o + h] = dz * gamma[h];
          }
          if (((r - r0) & 255) == 255) {  // flush to limit float drift
            for (int h = 0; h < H; h++) {
              dgl[h] += accG[h];
              dbl[h] += accB[h];
              accG[h] = accB[h] = 0.f;
            }
          }
        }
        for (int h = 0; h < H; h++) {
          dgl[h] += accG[h];
          dbl[h] += accB[h];
        }
      }
      for (int h = 0; h < H; h++) {
        dgamma[h] = dgT[h] + dgT[H + h];
        dbeta[h] = dbT[h] + dbT[H + h];
      }
#pragma omp parallel for schedule(static)
      for (long r = 0; r < (long)rows; r++) {
        const size_t o = (size_t)r * H;
        for (int g = 0; g < G; g++) {
          float s1 = 0, s2 = 0;
          for (int c = 0; c < C; c++) {
            s1 += da[o + g * C + c];
            s2 += da[o + g * C + c] * xh[o + g * C + c];
          }
          s1 /= C;
          s2 /= C;
          float rs = rstd[i][(size_t)r * G + g];
          for (int c = 0; c < C; c++) {
            int h = g * C + c;
            dh[o + h] = rs * (da[o + h] - s1 - xh[o + h] * s2);
          }
        }
      }
    }
    if (i > 0) {
      // dW_i = a_{i-1}ᵀ·dh, db_i = Σ dh, da_{i-1} = dh·W_iᵀ
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, rows, 1.f, act[i - 1], H, dh.data(), H, 0.f, gr[4 * i], H);
      columnSums(dh.data(), rows, H, gr[4 * i + 1]);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, H, H, 1.f, dh.data(), H, w[4 * i], H, 0.f, da.data(), H);
    } else {
      // layer 0: pre = coords·W_xy + p·W_p + b0
      if (d.pixel) {  // image mode summed these in its fused loop above
        layer0S.assign((size_t)P * H, 0.f);
        layer0R.assign((size_t)B * H, 0.f);
        for (int b = 0; b < B; b++)
          for (int q = 0; q < P; q++) {
            const float* src = dh.data() + ((size_t)b * P + q) * H;
            float* s = layer0S.data() + (size_t)q * H;
            float* rr = layer0R.data() + (size_t)b * H;
            for (int h = 0; h < H; h++) {
              s[h] += src[h];
              rr[h] += src[h];
            }
          }
      }
      const float* S = layer0S.data();  // Σ_b dh per pixel (the first P·H entries hold the total)
      const float* R = layer0R.data();  // Σ_q dh per image
      float* dw0 = gr[0];
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 2, H, P, 1.f, coords, 2, S, H, 0.f, dw0, H);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, H, B, 1.f, p, K, R, H, 0.f, dw0 + 2 * H, H);
      for (int h = 0; h < H; h++) {
        double s = 0;
        for (int b = 0; b < B; b++) s += R[(size_t)b * H + h];
        gr[1][h] = (float)s;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, H, 1.f, R, H, w[0] + 2 * H, H, 0.f, dp, K);
    }
  }
  return info.Env().Undefined();
}

}  // namespace stratum
