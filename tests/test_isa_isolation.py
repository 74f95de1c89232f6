"""No code compiled for AVX2 or AVX-512 can run on a CPU without them.

The kernels are compiled once per ISA (cpp/src/kernels/isa_*.cpp, built with
-mavx2 / -mavx512* by file name) and reached only through the kernel table,
after a CPUID check. The hazard is an inline or template function (a weak,
COMDAT symbol) compiled both in an ISA file and in baseline code: the linker
keeps one copy, possibly the AVX one, and baseline code then executes AVX
instructions (SIGILL on an older CPU). Two checks:

* the built extension module, disassembled: every function containing a
  VEX/EVEX-encoded instruction (a ymm/zmm/mask register, a v-prefixed SSE/AVX
  mnemonic, an AVX-512 mask instruction) or a BMI instruction belongs to the
  namespace entrena::isa_avx2 or entrena::isa_avx512 (OpenMP outlined
  functions and lambdas carry their enclosing function's name);
* the ISA object files of the static library, when one is found
  (ENTRENA_STATIC_LIB, else the newest build/**/libentrena.a): each exports
  its table accessor only and defines no weak symbol, so the linker has no
  copy of anything to choose between.
"""
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ISA_NAMESPACES = ("entrena::isa_avx2::", "entrena::isa_avx512::")

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="the ISA variants (AVX2, AVX-512) exist on x86-64 only")

# Instructions a baseline x86-64 CPU (SSE2) lacks, beyond every v-prefixed
# (VEX/EVEX) mnemonic: AVX-512 mask-register instructions and BMI1/BMI2/LZCNT/
# POPCNT/MOVBE. (tzcnt is left out: GCC emits `rep bsf` for baseline code,
# which objdump prints as tzcnt and which runs as bsf on older CPUs.)
MASK_INSN = re.compile(r"^k(add|and|andn|mov|not|or|ortest|shiftl|shiftr|test|unpck|xnor|xor)[bwdq]*$")
OTHER_INSN = {"andn", "bextr", "blsi", "blsmsk", "blsr", "bzhi", "mulx", "pdep", "pext", "rorx",
              "sarx", "shlx", "shrx", "lzcnt", "popcnt", "movbe"}
PREFIXES = {"rep", "repz", "repe", "repnz", "repne", "lock", "notrack", "bnd", "data16", "addr32",
            "cs", "ds", "es", "fs", "gs", "ss", "rex", "rex.w", "xacquire", "xrelease"}
WIDE_REG = re.compile(r"%[yz]mm\d|\{%k[1-7]\}")
FUNC = re.compile(r"^[0-9a-f]+ <(.*)>:$")


def non_baseline(line):
    """The instruction text of an objdump line if it needs more than x86-64 baseline, else None."""
    parts = line.split("\t")
    if len(parts) < 2 or not parts[0].strip().endswith(":"):
        return None
    insn = parts[-1].strip()
    words = insn.split()
    while words and words[0] in PREFIXES:
        words = words[1:]
    if not words:
        return None
    op = words[0]
    if op.startswith("v") or MASK_INSN.match(op) or op in OTHER_INSN or WIDE_REG.search(insn):
        return insn
    return None


def functions_needing_more_than_baseline(binary):
    """{demangled function name: first non-baseline instruction} over the
    disassembly of `binary`, and the number of functions seen."""
    proc = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", str(binary)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    found, name, count = {}, None, 0
    for line in proc.stdout.splitlines():
        m = FUNC.match(line)
        if m:
            name, count = m.group(1), count + 1
            continue
        if name is not None and name not in found:
            insn = non_baseline(line)
            if insn is not None:
                found[name] = insn
    return found, count


def in_isa_namespace(name):
    return any(ns in name for ns in ISA_NAMESPACES)


@pytest.fixture(scope="module")
def objdump():
    tool = shutil.which("objdump")
    if tool is None:
        pytest.skip("objdump (binutils) is not installed")
    return tool


def test_avx_code_only_in_isa_namespaces(objdump):
    from entrena import _core
    found, nfunc = functions_needing_more_than_baseline(_core.__file__)
    avx_kernels = [n for n in found if in_isa_namespace(n)]
    # The check means something only if the module has its symbol table (the
    # build keeps it) and the AVX kernels are seen where they are.
    assert any("(anonymous namespace)" in n for n in avx_kernels), (
        f"{_core.__file__}: no AVX code found in entrena::isa_avx2/isa_avx512 functions among "
        f"{nfunc} functions: the module has no symbol table (stripped?) or the kernels moved")
    offenders = sorted(f"{n}\n    {insn}" for n, insn in found.items() if not in_isa_namespace(n))
    assert not offenders, (
        f"{len(offenders)} function(s) outside entrena::isa_avx2/isa_avx512 use instructions a "
        "baseline x86-64 CPU lacks (an inline or template function compiled in an ISA file and "
        "kept by the linker for baseline code?):\n  " + "\n  ".join(offenders[:40]))


def static_library():
    env = os.environ.get("ENTRENA_STATIC_LIB")
    if env:
        return Path(env)
    libs = sorted((ROOT / "build").glob("**/libentrena.a"), key=lambda p: p.stat().st_mtime)
    return libs[-1] if libs else None


def test_isa_objects_export_only_their_table():
    nm = shutil.which("nm")
    lib = static_library()
    if nm is None or lib is None or not lib.exists():
        pytest.skip("needs nm and a built libentrena.a (set ENTRENA_STATIC_LIB or build under build/)")
    out = subprocess.run([nm, "-C", "--defined-only", str(lib)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, check=True).stdout
    members, current = {}, None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = line[:-1]
            members[current] = []
        elif current is not None and line.strip():
            parts = line.split(None, 2)
            if len(parts) == 3:
                members[current].append((parts[1], parts[2]))
    problems = []
    for isa in ("generic", "avx2", "avx512"):
        obj = [m for m in members if re.fullmatch(rf"isa_{isa}\.cpp\.o(bj)?", m)]
        if not obj:
            problems.append(f"{lib}: no member isa_{isa}.cpp.o")
            continue
        accessor = f"entrena::isa_{isa}::isa_table()"
        symbols = members[obj[0]]
        for kind, name in symbols:
            # Global (upper case) or unique/weak (u, v, w): visible to the linker.
            # DW.ref.__gxx_personality_v0 is data (the exception-handling
            # personality pointer), the same in every object.
            visible = kind.isupper() or kind in "uvw"
            if visible and name != accessor and name != "DW.ref.__gxx_personality_v0":
                problems.append(f"{obj[0]}: {kind} {name}")
        if (("T", accessor) not in symbols):
            problems.append(f"{obj[0]}: does not define {accessor}")
    assert not problems, ("ISA objects must export their table accessor only:\n  "
                          + "\n  ".join(problems[:40]))
