"""h5_same.py A B [A2 B2 ...]: exit 0 when every pair of dustload HDF5 files
holds the same datasets with the same shapes and values (attributes such as
the creation time may differ); otherwise print the first difference, exit 1.
Used by the end-to-end tests to check 1 vs 2 threads, MPI vs one process,
and resumed vs uninterrupted batches."""
import sys
import h5py


def datasets(path):
    out = {}
    def walk(g, p):
        for k, o in g.items():
            if isinstance(o, h5py.Dataset):
                out[p + "/" + k] = o[()]
            else:
                walk(o, p + "/" + k)
    with h5py.File(path, "r") as f:
        walk(f, "")
    return out


def differs(a_path, b_path):
    a, b = datasets(a_path), datasets(b_path)
    if a.keys() != b.keys():
        return f"{b_path}: datasets {sorted(a.keys() ^ b.keys())} present in only one file"
    for k in a:
        x, y = a[k], b[k]
        same = x.tolist() == y.tolist() if x.dtype.kind == "O" else x.tobytes() == y.tobytes()
        if x.shape != y.shape or not same:
            return f"{b_path}: {k} differs from {a_path}"
    return None


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2 or len(args) % 2:
        sys.exit("usage: h5_same.py A B [A2 B2 ...]")
    for a, b in zip(args[0::2], args[1::2]):
        why = differs(a, b)
        if why:
            print(why)
            sys.exit(1)
