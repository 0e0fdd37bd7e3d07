"""The network's float format per device and path (tracker.pose.precision), literal cases."""
import pytest
import torch

from tracker.pose.precision import (autocast_dtype, cpu_flags, has_native_bf16,
                                    slow_on_this_cpu)

CPU, CUDA = torch.device("cpu"), torch.device("cuda")     # a device object needs no GPU
SAPPHIRE_RAPIDS = {"fpu", "avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
SKYLAKE = {"fpu", "avx2", "avx512f", "avx512bw", "avx512vl"}      # bf16 only emulated
NEOVERSE_V1 = {"fp", "asimd", "sve", "bf16", "i8mm"}


def test_native_bf16_is_read_off_the_cpu_flags():
    assert has_native_bf16(SAPPHIRE_RAPIDS) and has_native_bf16(NEOVERSE_V1)
    assert has_native_bf16({"avx512_bf16"}) and has_native_bf16({"amx_bf16"})
    assert not has_native_bf16(SKYLAKE) and not has_native_bf16(set())


def test_cpu_flags_from_x86_and_arm_cpuinfo(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: EPYC\nflags\t\t: fpu avx512f avx512_bf16\n\n"
                   "processor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(x86) == {"fpu", "avx512f", "avx512_bf16"}     # the first CPU's
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd bf16\n")
    assert cpu_flags(arm) == {"fp", "asimd", "bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
    (tmp_path / "bare").write_text("processor\t: 0\n")
    assert cpu_flags(tmp_path / "bare") == frozenset()


@pytest.mark.parametrize("device, fast_path, expected", [
    (CPU, False, None), (CUDA, False, None),        # the exact path is float32 everywhere
    (CUDA, True, torch.float16),                    # tensor cores
    (CPU, True, None),                              # bfloat16 moves keypoints: opt-in only
])
def test_no_precision_lets_the_path_and_device_choose(device, fast_path, expected):
    assert autocast_dtype(None, device, fast_path=fast_path) is expected


@pytest.mark.parametrize("precision, expected", [
    ("float32", None), ("float16", torch.float16), ("bfloat16", torch.bfloat16)])
def test_an_explicit_precision_wins(precision, expected):
    for device in (CPU, CUDA):
        for fast_path in (False, True):
            assert autocast_dtype(precision, device, fast_path=fast_path) is expected


def test_16_bit_floats_the_cpu_emulates_are_named():
    assert slow_on_this_cpu(torch.bfloat16, CPU, SAPPHIRE_RAPIDS) is None
    assert slow_on_this_cpu(torch.bfloat16, CPU, NEOVERSE_V1) is None
    assert "no native bfloat16" in slow_on_this_cpu(torch.bfloat16, CPU, SKYLAKE)
    assert "float16 on a CPU is emulated" in slow_on_this_cpu(torch.float16, CPU,
                                                               SAPPHIRE_RAPIDS)
    assert slow_on_this_cpu(None, CPU, SKYLAKE) is None                # float32
    assert slow_on_this_cpu(torch.bfloat16, CUDA, SKYLAKE) is None     # not the CPU's


def test_unknown_precision_names_the_choices():
    with pytest.raises(ValueError, match=r"precision must be one of \['float32', 'float16', "
                                         r"'bfloat16'\] or None, got 'fp16'"):
        autocast_dtype("fp16", CPU, fast_path=True)
