"""Bit-level float tools for the compiled kernels (``nmf_numba``, ``informed_numba``,
``spectral_numba``).

* ``_f32``: a spectrum value as float32, from float32 or from the bits of a float16 held as
  uint16 (``half_bits``): numba has no float16 on the CPU.
* ``_f32_bits`` / ``_bits_f32``: float32 <-> int32 bit casts that LLVM vectorises.
* ``flush_denormals`` / ``restore_fp``: switch a thread's x86 MXCSR to flush denormals (FTZ and
  DAZ) and back, as audio software does on its processing threads. Multiplicative updates drive
  some template and activation entries towards zero; a few hundred denormal entries made a
  template pass twice as slow late in a run (each operation on one costs a microcode assist).
  With the bits set they count as the zeros they practically are. Each kernel sets them on entry
  and restores the previous state before it returns, so Python and NumPy keep IEEE denormals.
  Off x86 both are no-ops.
"""

from __future__ import annotations

import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload


@intrinsic
def _f32_bits(typingctx, x):
    """The bits of a float32 as an int32 (a bitcast, which LLVM vectorises)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, x):
    """The float32 whose bits are the int32 ``x``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


def _f32(x):
    """A spectrum value as float32: float32 as is; uint16 holds a float16's bits (see ``half_bits``)."""
    raise NotImplementedError  # only called from compiled code, through the overload below


@overload(_f32, jit_options=dict(fastmath=True))
def _f32_overload(x):
    if x == types.float32:
        return lambda x: x
    if x == types.uint16:
        # A float16 >= 0 (finite, no sign bit): a normal half's exponent and mantissa move into
        # float32's fields and the exponent is rebiased by 127 - 15 in the integer domain (a float
        # rebias by 2**112 could overflow once fastmath reorders the products around it); a
        # subnormal half is its mantissa times 2**-24. Exact, branch-free, vectorisable.
        return lambda x: (_bits_f32((np.int32(x) << np.int32(13)) + np.int32(112 << 23)) if x >= np.uint16(0x400)
                          else np.float32(x) * np.float32(2.0 ** -24))
    return None


def half_bits(V: np.ndarray) -> np.ndarray:
    """A float16 array as the uint16 view the kernels read (numba has no float16 on the CPU).

    The values must be nonnegative and finite (magnitudes; ``segments.magnitude`` clips them)."""
    return V.view(np.uint16) if V.dtype == np.float16 else V


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _mxcsr(builder, name: str, ptr) -> None:
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()]), name)
    builder.call(fn, [builder.bitcast(ptr, ir.IntType(8).as_pointer())])


@intrinsic
def flush_denormals(typingctx):
    """Set flush-to-zero and denormals-are-zero (MXCSR bits 0x8040) for this thread; returns the
    previous MXCSR for ``restore_fp``."""
    def codegen(context, builder, signature, args):
        if not _X86:
            return ir.Constant(ir.IntType(32), 0)
        ptr = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr(builder, "llvm.x86.sse.stmxcsr", ptr)
        old = builder.load(ptr)
        builder.store(builder.or_(old, ir.Constant(ir.IntType(32), 0x8040)), ptr)
        _mxcsr(builder, "llvm.x86.sse.ldmxcsr", ptr)
        return old
    return types.uint32(), codegen


@intrinsic
def restore_fp(typingctx, old):
    """Put back the MXCSR ``flush_denormals`` returned (Python and NumPy keep IEEE denormals)."""
    def codegen(context, builder, signature, args):
        if _X86:
            ptr = cgutils.alloca_once(builder, ir.IntType(32))
            builder.store(args[0], ptr)
            _mxcsr(builder, "llvm.x86.sse.ldmxcsr", ptr)
        return context.get_dummy_value()
    return types.void(types.uint32), codegen
