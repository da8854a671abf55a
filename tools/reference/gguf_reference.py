#!/usr/bin/env python3
"""Writes the GGUF reader fixtures with the `gguf` Python package (ggml's own gguf-py) and its
reference dequantization.

  fixtures/gguf/types.gguf                  every dequantizable ggml type, a 2-D and a 3-D tensor each
  fixtures/gguf/types.reference.safetensors gguf.quants.dequantize of each tensor read back from the file, F32
  fixtures/gguf/metadata.gguf               metadata of every value type (nested array too), alignment 64
  fixtures/gguf/metadata_v2.gguf            the same bytes with the version field set to 2

Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and BF16 are quantized by gguf.quants.quantize from seeded normal
data; gguf-py cannot quantize K-types, so their blocks are seeded random bytes with finite half
scales. CheckpointsTests/GGUFTests compares our dequantization bit for bit.
Run: /root/venv/bin/python tools/reference/gguf_reference.py
"""
import os

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "gguf"))

# Byte offsets of the half-precision scales inside each K-quant block (ggml-common.h).
K_HALF_OFFSETS = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
QUANTIZED = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.BF16]


def shapes(qtype):
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    row = 256 if block == 256 else 64
    return [(2, row), (2, 2, row // 2 if block == 32 else row)]


def tensor_data(rng, qtype, shape):
    """(array to store, raw_dtype) for one tensor; quantized data is uint8 in byte shape."""
    if qtype == T.F32:
        return rng.standard_normal(shape).astype(np.float32), None
    if qtype == T.F16:
        values = rng.standard_normal(shape).astype(np.float16)
        values.flat[:4] = [6.1e-05, -5.96e-08, 65504.0, 0.0]   # smallest normal, a subnormal, max, zero
        return values, None
    if qtype in QUANTIZED:
        values = (rng.standard_normal(shape) * rng.uniform(0.01, 3.0)).astype(np.float32)
        values.reshape(-1, 32)[0] = 0.0   # an all-zero block (scale 0)
        return gguf.quants.quantize(values, qtype), qtype
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = int(np.prod(shape)) // block
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for offset in K_HALF_OFFSETS[qtype]:
        half = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        raw[:, offset:offset + 2] = half.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(*shape[:-1], shape[-1] // block * size), qtype


def write_types():
    rng = np.random.default_rng(17)
    path = os.path.join(OUT, "types.gguf")
    writer = gguf.GGUFWriter(path, "whittle-test")
    writer.add_string("whittle.generator", "tools/reference/gguf_reference.py")
    writer.add_string("whittle.gguf_py_version", version())
    types = [T.F32, T.F16, T.BF16] + QUANTIZED[:-1] + list(K_HALF_OFFSETS)
    for qtype in types:
        for shape in shapes(qtype):
            data, raw_dtype = tensor_data(rng, qtype, shape)
            writer.add_tensor(f"{qtype.name.lower()}.{len(shape)}d", data, raw_dtype=raw_dtype)
    finish(writer)

    reader = gguf.GGUFReader(path)
    reference = {}
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(np.asarray(tensor.data), tensor.tensor_type).astype(np.float32, copy=False)
        expected_shape = tuple(int(d) for d in reversed(tensor.shape))
        assert values.shape == expected_shape, (tensor.name, values.shape, expected_shape)
        reference[tensor.name] = np.ascontiguousarray(values)
    save_file(reference, os.path.join(OUT, "types.reference.safetensors"),
              metadata={"generator": "tools/reference/gguf_reference.py", "gguf": version(), "numpy": np.__version__})
    print(f"types.gguf: {len(reference)} tensors, {os.path.getsize(path)} bytes")


def write_metadata():
    path = os.path.join(OUT, "metadata.gguf")
    writer = gguf.GGUFWriter(path, "whittle-test")
    writer.add_custom_alignment(64)
    writer.add_uint8("test.uint8", 200)
    writer.add_int8("test.int8", -100)
    writer.add_uint16("test.uint16", 60000)
    writer.add_int16("test.int16", -30000)
    writer.add_uint32("test.uint32", 4_000_000_000)
    writer.add_int32("test.int32", -2_000_000_000)
    writer.add_float32("test.float32", 0.1)
    writer.add_bool("test.bool_true", True)
    writer.add_bool("test.bool_false", False)
    writer.add_string("test.string", "héllo, wörld ✓ 🦙")
    writer.add_key_value("test.string_empty", "", gguf.GGUFValueType.STRING)   # add_string skips empty strings
    writer.add_uint64("test.uint64", 2**63 + 5)
    writer.add_int64("test.int64", -(2**62))
    writer.add_float64("test.float64", 1 / 3)
    writer.add_key_value("test.array_int32", [1, -2, 3], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT32)
    writer.add_key_value("test.array_uint8", [0, 255], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT8)
    writer.add_array("test.array_string", ["a", "bc", ""])
    writer.add_array("test.array_float32", [0.5, -1.25])
    writer.add_array("test.array_bool", [True, False, True])
    writer.add_array("test.array_nested", [["x", "y"], ["z"]])
    writer.add_tensor("weight", np.arange(15, dtype=np.float32).reshape(3, 5))
    writer.add_tensor("bias", np.array([1.0, -2.0, 0.5], dtype=np.float16))
    finish(writer)
    data = bytearray(open(path, "rb").read())
    data[4:8] = (2).to_bytes(4, "little")
    open(os.path.join(OUT, "metadata_v2.gguf"), "wb").write(bytes(data))
    print(f"metadata.gguf: {os.path.getsize(path)} bytes")


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def version():
    from importlib.metadata import version as v
    return v("gguf")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_types()
    write_metadata()
