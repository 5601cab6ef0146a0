{
  "targets": [
    {
      "target_name": "stratum_native",
      "sources": ["stratum_native.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-march=native", "-ffast-math", "-fno-finite-math-only", "-std=c++17", "-fopenmp"],
      "libraries": ["<!@(node ../scripts/blas-link.mjs)", "-fopenmp"]
    }
  ]
}
