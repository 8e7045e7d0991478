#!/usr/bin/env python3
"""match_accuracy.py: route coverage of `dustload match` on the real taxi traces with hand-matched paths.

  python3 match_accuracy.py DUSTLOAD NET DATA_DIR TMPDIR

DATA_DIR is ../shared/data/beijing_roadnet_osm2013. Traces and hand paths are paired in order (as the
independent check does); fixes are given 30 s apart (the source's timestamps are placeholders).
The matched route of a trace is the polyline through its matched positions in time order, broken where a
fix has no position. Both routes are sampled every 5 m: recall is the share of the hand path's samples within
15 m of the matched route, precision the share of the matched route's samples within 15 m of the hand path.
Chords between fixes 30 s apart cut corners, so even a perfect matcher scores below 100 %: the same figures for
the fixes' own projections onto the hand path are printed as the ceiling. Also prints the share of points
matched within 15 m of the hand path (the independent check's figure)."""
import csv, datetime, math, os, subprocess, sys

CELL = 50.0


def xy(lat, lon, lat0=39.95, lon0=116.4):
    return ((lon - lon0) * 111320.0 * math.cos(math.radians(lat0)), (lat - lat0) * 110574.0)


def seg_proj(p, a, b):
    dx, dy = b[0] - a[0], b[1] - a[1]
    L = dx * dx + dy * dy
    t = 0.0 if L == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / L))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy), t


class Near:
    """Distance from a point to a set of polylines, through a grid of their pieces."""

    def __init__(self, lines):
        self.g = {}
        for line in lines:
            for a, b in zip(line, line[1:]):
                for i in range(int(min(a[0], b[0]) // CELL) - 1, int(max(a[0], b[0]) // CELL) + 2):
                    for j in range(int(min(a[1], b[1]) // CELL) - 1, int(max(a[1], b[1]) // CELL) + 2):
                        self.g.setdefault((i, j), []).append((a, b))

    def within(self, p, r):
        for a, b in self.g.get((int(p[0] // CELL), int(p[1] // CELL)), ()):
            if seg_proj(p, a, b)[0] <= r:
                return True
        return False


def samples(lines, step=5.0):
    for line in lines:
        for a, b in zip(line, line[1:]):
            L = math.dist(a, b)
            n = max(1, int(math.ceil(L / step)))
            for k in range(n):
                yield (a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n)
        if line:
            yield line[-1]


def shares(hand_line, mlines):
    hn, mn = Near([hand_line]), Near(mlines)
    hs = list(samples([hand_line]))
    ms = list(samples(mlines))
    return (sum(mn.within(p, 15.0) for p in hs), len(hs), sum(hn.within(p, 15.0) for p in ms), len(ms))


def main(dl, net, data, tmp):
    der = os.path.join(data, "derived")
    nodes = {int(r["node_id"]): xy(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(open(os.path.join(der, "nodes_wgs84.csv")))}
    hand = [[int(v) for v in line.split() if int(v) in nodes] for line in open(os.path.join(data, "orig", "manual_matched", "beijing_sparse.txt"))]
    hand = [h for h in hand if len(h) > 1]
    trajs = {}
    for r in csv.DictReader(open(os.path.join(der, "manual_matched__beijing_sparse.wgs84.csv"))):
        trajs.setdefault(int(r["traj_id"]), []).append((int(r["seq"]), float(r["lat"]), float(r["lon"])))
    t0 = datetime.datetime(2009, 5, 1, tzinfo=datetime.timezone.utc)
    tot = [0, 0, 0, 0]
    ceil = [0, 0, 0, 0]
    pts = good = 0
    for (tid, fx), hp in zip(sorted(trajs.items()), hand):
        fx.sort()
        f = os.path.join(tmp, f"taxi_{tid}.csv")
        with open(f, "w") as out:
            out.write("time,lat,lon\n")
            for seq, la, lo in fx:
                out.write(f"{(t0 + datetime.timedelta(seconds=30 * seq)).strftime('%Y-%m-%dT%H:%M:%SZ')},{la:.7f},{lo:.7f}\n")
        m = f + ".match.csv"
        subprocess.run([dl, "match", "--network", net, f, "-o", m, "--force", "-q"], check=True)
        hline = [nodes[v] for v in hp]
        hnear = Near([hline])
        mlines, cur = [], []
        for r in csv.DictReader(open(m)):
            pts += 1
            if r["status"] not in ("matched", "interpolated") or not r["matched_lat"]:
                if len(cur) > 1:
                    mlines.append(cur)
                cur = []
                continue
            q = xy(float(r["matched_lat"]), float(r["matched_lon"]))
            good += hnear.within(q, 15.0)
            cur.append(q)
        if len(cur) > 1:
            mlines.append(cur)
        proj = []
        for _, la, lo in fx:
            p = xy(la, lo)
            (d, t), a, b = min(((seg_proj(p, a, b), a, b) for a, b in zip(hline, hline[1:])), key=lambda z: z[0][0])
            proj.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        for acc, lines in ((tot, mlines), (ceil, [proj])):
            s = shares(hline, lines)
            for k in range(4):
                acc[k] += s[k]
    print(f"taxi: {len(hand)} traces, {pts} points, {100.0 * good / pts:.1f} % matched within 15 m of the hand path; "
          f"matched route covers {100.0 * tot[0] / tot[1]:.1f} % of the hand path's length, "
          f"{100.0 * tot[2] / tot[3]:.1f} % of the matched length lies on it "
          f"(ceiling with the fixes' projections onto the hand path: {100.0 * ceil[0] / ceil[1]:.1f} % and {100.0 * ceil[2] / ceil[3]:.1f} %)")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
