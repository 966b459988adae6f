"""The depthwise problems a program's run recorded (DWSHIM_TUNE_RECORD: one bench/suite.csv line each, its note
"API OP DTYPE LAYOUT") as a cases file for the bench harness, and the --op, --dtype and --layout lists that cover
them (the harness measures each case in every combination of those lists). dwshim-tune --program runs it.

Usage: python3 scripts/dwshim_tune_cases.py RECORD CASES_OUT   (prints the bench arguments, one a line)
"""
import sys

ORDER = {"op": ("fwd", "dgrad", "wgrad"), "dtype": ("f32", "f16", "bf16"), "layout": ("nchw", "nhwc")}
HEADER = "# name,N,C,H,W,kh,kw,stride_h,stride_w,pad_h,pad_w,dil_h,dil_w,multiplier,note"


def convert(lines):
    """(case lines, bench arguments) for the recorded lines; malformed ones are skipped."""
    cases, seen = {}, {key: set() for key in ORDER}
    for line in lines:
        fields = line.rstrip("\n").split(",")
        if line.startswith("#") or len(fields) != 15 or len(fields[14].split()) != 4:
            continue
        _, op, dtype, layout = fields[14].split()
        cases.setdefault(fields[0], ",".join(fields[:14]) + ",recorded")
        for key, value in (("op", op), ("dtype", dtype), ("layout", layout)):
            seen[key].add(value)
    arguments = []
    for key, known in ORDER.items():
        arguments += ["--" + key, ",".join(value for value in known if value in seen[key])]
    return list(cases.values()), arguments


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as record:
        cases, arguments = convert(record)
    if not cases:
        sys.exit("dwshim-tune: the program called no depthwise convolution dwshim can compute")
    with open(sys.argv[2], "w") as out:
        out.write(HEADER + "\n" + "\n".join(cases) + "\n")
    print("\n".join(arguments))


if __name__ == "__main__":
    main()
