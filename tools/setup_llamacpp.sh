#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (for `whittle-bench models`) and llama-quantize, llama-perplexity,
# llama-tokenize (for the GGUF checks: tools/reference/gguf_quantize_reference.py,
# gguf_llamacpp_check.py) from the source distribution of the `llama-cpp-python` package (it carries
# llama.cpp under vendor/llama.cpp). Needs cmake (`pip install cmake` works) and a C++ compiler.
#   tools/setup_llamacpp.sh [DIR]   then   WHITTLE_LLAMA_CPP=DIR/llama.cpp WHITTLE_LLAMA_PYTHONPATH=DIR/pydeps whittle-bench models
set -euo pipefail
DIR=${1:-/tmp/whittle-llamacpp}
PY=${WHITTLE_PYTHON:-/root/venv/bin/python}
mkdir -p "$DIR" && cd "$DIR"
"$PY" -m pip download --no-deps --no-binary llama-cpp-python llama-cpp-python -d .
tar xzf llama_cpp_python-*.tar.gz
rm -rf llama.cpp && mv llama_cpp_python-*/vendor/llama.cpp llama.cpp
"$PY" -m pip install -q --target "$DIR/pydeps" sentencepiece   # the converter imports it for Llama vocabularies
cmake -S llama.cpp -B llama.cpp/build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF
cmake --build llama.cpp/build --target llama-bench llama-quantize llama-perplexity llama-tokenize -j"$(nproc)"
echo "WHITTLE_LLAMA_CPP=$DIR/llama.cpp WHITTLE_LLAMA_PYTHONPATH=$DIR/pydeps"
