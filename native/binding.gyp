{
  "targets": [
    {
      "target_name": "stratum_native",
      "sources": [
        "stratum_native.cc", "args.cc", "blas.cc", "conv.cc", "elementwise.cc", "mask_forward.cc",
        "mask_backward.cc", "decompose.cc", "batchnorm.cc", "adam.cc", "swaps.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-march=native", "-ffast-math", "-fno-finite-math-only", "-std=c++17", "-fopenmp"],
      "libraries": ["<!@(node ../scripts/blas-link.mjs)", "-fopenmp"]
    }
  ]
}
