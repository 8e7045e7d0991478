/* cmd_network.c: `dustload network import` (OSM + boundaries -> compiled
 * network file) and `dustload network info` (its summary). */
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "dl_cli.h"
#include "dl_netbuild.h"
#include "dl_netio.h"
#include "dl_netopen.h"

static const char *const HELP =
    "usage: dustload network import --osm FILE -o NET [options]\n"
    "       dustload network info NET\n\n"
    "import compiles OpenStreetMap roads (.osm XML or .osm.pbf) and optional\n"
    "township and district polygons (GeoJSON) into one network file that later\n"
    "commands open by mmap. Kept: motorway, trunk, primary, secondary, tertiary\n"
    "(and their _link), unclassified, residential, living_street; service with\n"
    "--service. oneway=yes/1/true/-1/reverse/reversible is respected, and\n"
    "implied on motorways and roundabouts. Ways are split at junctions into\n"
    "segments and at boundary crossings; every segment gets its township and\n"
    "district (-1, printed as 'outside', when in no polygon). Coordinates are\n"
    "projected to the UTM zone of the data (EPSG:32650 for Beijing); WGS84 is\n"
    "kept too. What is dropped, and why, is reported on stderr.\n\n"
    "import options:\n"
    "  --osm FILE            OSM input (.osm or .osm.pbf)\n"
    "  -o, --output NET      network file to write (atomically)\n"
    "  --townships FILE      township polygons (GeoJSON Polygon/MultiPolygon)\n"
    "  --districts FILE      district polygons (GeoJSON)\n"
    "  --name-field NAME     polygon property holding the name (default: name)\n"
    "  --boundary-crs CRS    wgs84 (default) or gcj02 (converted to WGS84 first)\n"
    "  --service             keep highway=service roads too\n"
    "  --min-island M        drop connected pieces shorter than M metres (default 0:\n"
    "                        keep all; the count is reported either way)\n"
    "  --epsg CODE           projected CRS (default: UTM zone of the data centre)\n"
    "  --grid-cell M         spatial index cell size in metres (default 70)\n"
    "  --force               replace an existing output (without it, an existing\n"
    "                        file is left alone: kept when it already holds this\n"
    "                        network, else exit 73)\n"
    "  -q, --quiet           no progress on stderr\n\n"
    "info prints key: value lines: nodes, edges, segments, roads, length_km\n"
    "(centreline: a two-way road counts once), bbox (lon_min,lat_min,lon_max,\n"
    "lat_max), crs, townships, districts, per class segments and km, and km per\n"
    "district and township. info --segments prints one CSV row per segment.\n\n"
    "exit status: 0 ok, 64 usage, 65 malformed input, 66 cannot open input,\n"
    "73 output exists or cannot be created, 74 I/O error.\n";

static int quiet;
#define progress(...) dl_cli_progress("network", quiet, __VA_ARGS__)

/* Reads a polygon file, converts GCJ-02 if asked, projects; fills ps. */
static int load_polys(const char *path, const char *field, int gcj, dl_proj *pj, dl_geopolys *g, double **x,
                      double **y, dl_polyset *ps, dl_err *e) {
  int rc = dl_geojson_read_polys(path, field, g, e);
  if (rc) return rc;
  if (gcj)
    for (size_t i = 0; i < g->n_vtx; i++) dl_gcj02_to_wgs84(g->lat[i], g->lon[i], &g->lat[i], &g->lon[i]);
  *x = malloc((g->n_vtx ? g->n_vtx : 1) * sizeof **x);
  *y = malloc((g->n_vtx ? g->n_vtx : 1) * sizeof **y);
  if (!*x || !*y) return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  rc = dl_proj_fwd(pj, g->lat, g->lon, g->n_vtx, *x, *y, e);
  if (rc) return rc;
  ps->n_poly = g->n_poly;
  ps->poly_ring = g->poly_ring;
  ps->ring_vtx = g->ring_vtx;
  ps->x = *x, ps->y = *y;
  ps->name = (const char *const *)g->name;
  progress("%s: %zu polygons, %zu rings, %zu vertices%s%s", path, g->n_poly, g->n_ring, g->n_vtx,
           gcj ? ", converted from GCJ-02" : "", g->skipped ? " (some non-polygon features skipped)" : "");
  return DL_OK;
}

static void report(const dl_netbuild_report *r, const dl_net *n) {
  if (quiet) return;
  fprintf(stderr,
          "dustload network: read %llu nodes, %llu highway ways; kept %llu ways\n"
          "  dropped: %llu not for cars, %llu unknown highway values, %llu service (no --service)\n"
          "  ways with missing nodes: %llu (%llu references; split at the gaps), too short pieces: %llu\n"
          "  unknown oneway values (read as two-way): %llu\n"
          "  disconnected pieces dropped: %llu (%llu segments, %.3f km)\n",
          (unsigned long long)r->nodes_read, (unsigned long long)r->ways_read, (unsigned long long)r->ways_kept,
          (unsigned long long)r->ways_not_car, (unsigned long long)r->ways_unknown_highway,
          (unsigned long long)r->ways_service_skipped, (unsigned long long)r->ways_missing_nodes,
          (unsigned long long)r->missing_refs, (unsigned long long)r->ways_too_short,
          (unsigned long long)r->oneway_unknown, (unsigned long long)r->islands_dropped,
          (unsigned long long)r->island_segments, r->island_m / 1000);
  for (int i = 0; i < r->n_values; i++)
    fprintf(stderr, "    highway=%s: %llu ways (%s)\n", r->value[i], (unsigned long long)r->value_count[i],
            r->value_unknown[i] ? "unknown value" : "not for cars");
  if (n->n_townships || n->n_districts)
    fprintf(stderr, "  boundary cuts: %llu; segments outside every township: %llu, district: %llu\n",
            (unsigned long long)r->boundary_cuts, (unsigned long long)r->segs_outside_township,
            (unsigned long long)r->segs_outside_district);
}

/* The import's link between the build and the file: each finished array
 * goes to the writer and is freed, and each input array the build is done
 * with is freed at once (the peak memory is what is alive together). */
typedef struct importer {
  dl_netwriter *w;
  dl_err err;
  dl_osm *o;
  dl_proj *pj;
} importer;

/* Only the nodes the network keeps are projected, once the build knows them. */
static int project(void *user, const double *lat, const double *lon, size_t n, double *x, double *y) {
  importer *im = user;
  return dl_proj_fwd(im->pj, lat, lon, n, x, y, &im->err);
}

static int put_array(void *user, const dl_netcol *col, uint64_t count, void *data) {
  importer *im = user;
  int rc = dl_netwriter_put(im->w, col, count, data, &im->err);
  free(data);
  return rc;
}

static void input_done(void *user, const void *p) {
  importer *im = user;
  dl_osm *o = im->o;
  void **arr[] = {(void **)&o->node_id, (void **)&o->node_lat, (void **)&o->node_lon, (void **)&o->way_id,
                  (void **)&o->way_nd, (void **)&o->way_highway, (void **)&o->way_oneway,
                  (void **)&o->way_junction, (void **)&o->way_name, (void **)&o->way_ref,
                  (void **)&o->way_maxspeed, (void **)&o->nd_ref, (void **)&o->str};
  for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++)
    if (*arr[i] == p) {
      free(*arr[i]);
      *arr[i] = NULL;
    }
}

static int cmd_import(int argc, char **argv) {
  enum { O_OSM = 256, O_TOWN, O_DIST, O_FIELD, O_CRS, O_SERVICE, O_ISLAND, O_EPSG, O_CELL, O_FORCE };
  static const struct option opts[] = {
      {"osm", required_argument, 0, O_OSM},          {"output", required_argument, 0, 'o'},
      {"townships", required_argument, 0, O_TOWN},   {"districts", required_argument, 0, O_DIST},
      {"name-field", required_argument, 0, O_FIELD}, {"boundary-crs", required_argument, 0, O_CRS},
      {"service", no_argument, 0, O_SERVICE},        {"min-island", required_argument, 0, O_ISLAND},
      {"epsg", required_argument, 0, O_EPSG},        {"grid-cell", required_argument, 0, O_CELL},
      {"force", no_argument, 0, O_FORCE},            {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},                 {0, 0, 0, 0}};
  const char *osm = NULL, *outp = NULL, *town = NULL, *dist = NULL, *field = "name";
  int gcj = 0, force = 0, epsg = 0, c;
  dl_netbuild_opts bo = {0, 70.0, 0.0, 0};
  char *end;
  quiet = 0;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+o:qh", opts, NULL)) != -1) {
    switch (c) {
      case O_OSM: osm = optarg; break;
      case 'o': outp = optarg; break;
      case O_TOWN: town = optarg; break;
      case O_DIST: dist = optarg; break;
      case O_FIELD: field = optarg; break;
      case O_CRS:
        if (!strcmp(optarg, "gcj02")) gcj = 1;
        else if (!strcmp(optarg, "wgs84")) gcj = 0;
        else return dl_cli_usage("network import", "--boundary-crs: expected wgs84 or gcj02, got '%s'", optarg);
        break;
      case O_SERVICE: bo.service = 1; break;
      case O_ISLAND:
        bo.min_island_m = strtod(optarg, &end);
        if (end == optarg || *end || !(bo.min_island_m >= 0))
          return dl_cli_usage("network import", "--min-island: expected metres, got '%s'", optarg);
        break;
      case O_EPSG:
        epsg = (int)strtol(optarg, &end, 10);
        if (end == optarg || *end || epsg <= 0)
          return dl_cli_usage("network import", "--epsg: expected a code like 32650, got '%s'", optarg);
        break;
      case O_CELL:
        bo.grid_cell = strtod(optarg, &end);
        if (end == optarg || *end || !(bo.grid_cell >= 1 && bo.grid_cell <= 100000))
          return dl_cli_usage("network import", "--grid-cell: expected 1 to 100000 metres, got '%s'", optarg);
        break;
      case O_FORCE: force = 1; break;
      case 'q': quiet = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default: return dl_cli_usage("network import", "unknown option or missing value '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return dl_cli_usage("network import", "unexpected argument '%s'", argv[optind]);
  if (!osm) return dl_cli_usage("network import", "--osm FILE is required");
  if (!outp || !*outp) return dl_cli_usage("network import", "-o NET is required");
  double t0 = dl_cli_now();
  dl_err e;
  dl_err_clear(&e);
  /* an output never replaces an input, not even with --force */
  const char *ins[] = {osm, town, dist}, *what[] = {"--osm", "--townships", "--districts"};
  for (int i = 0; i < 3; i++)
    if (dl_cli_same_file(outp, ins[i])) {
      dl_errf(&e, DL_ECANTCREAT, "%s: is an input (%s); an output never replaces an input", outp, what[i]);
      return dl_cli_fail("network import", &e);
    }
  dl_osm o;
  dl_geopolys gt, gd;
  memset(&gt, 0, sizeof gt);
  memset(&gd, 0, sizeof gd);
  double *tx = NULL, *ty = NULL, *dx = NULL, *dy = NULL;
  dl_proj *pj = NULL;
  dl_net net;
  memset(&net, 0, sizeof net);
  importer im = {NULL, {0, ""}, &o, NULL};
  /* Arrays over 32 KiB get their own mappings, at a fixed threshold (glibc
   * raises it after the first free, and later arrays would then stay in the
   * heap, which does not shrink): what the import frees goes back at once,
   * so that its peak memory is what is alive together. */
  mallopt(M_MMAP_THRESHOLD, 32 * 1024);
  int rc = dl_osm_read(osm, &o, &e);
  if (rc) return dl_cli_fail("network import", &e);
  progress("%s: %zu nodes, %zu highway ways (%.2f s)", osm, o.n_nodes, o.n_ways, dl_cli_now() - t0);
  if (o.n_nodes == 0) {
    rc = dl_errf(&e, DL_ENODATA, "%s: no nodes with coordinates", osm);
    goto out;
  }
  if (!epsg) {
    double lo0 = INFINITY, lo1 = -INFINITY, la0 = INFINITY, la1 = -INFINITY;
    for (size_t i = 0; i < o.n_nodes; i++) {
      lo0 = fmin(lo0, o.node_lon[i]), lo1 = fmax(lo1, o.node_lon[i]);
      la0 = fmin(la0, o.node_lat[i]), la1 = fmax(la1, o.node_lat[i]);
    }
    epsg = dl_utm_epsg((lo0 + lo1) / 2, (la0 + la1) / 2);
  }
  bo.epsg = epsg;
  if ((rc = dl_proj_create(epsg, &pj, &e))) goto out;
  dl_polyset pt, pd;
  if (town && (rc = load_polys(town, field, gcj, pj, &gt, &tx, &ty, &pt, &e))) goto out;
  if (dist && (rc = load_polys(dist, field, gcj, pj, &gd, &dx, &dy, &pd, &e))) goto out;
  dl_netsrc src = {o.n_nodes, o.node_id, o.node_lat, o.node_lon, NULL, NULL, o.n_ways, o.way_id, o.way_nd, o.nd_ref,
                   o.way_highway, o.way_oneway, o.way_junction, o.way_name, o.way_ref, o.way_maxspeed, o.str,
                   o.n_str};
  dl_netbuild_report rep;
  if ((rc = dl_netwriter_open(outp, &im.w, &e))) goto out;
  im.pj = pj;
  dl_netbuild_io io = {put_array, input_done, project, &im};
  rc = dl_netbuild_stream(&src, town ? &pt : NULL, dist ? &pd : NULL, &bo, &io, &net, &rep, &e);
  dl_proj_free(pj); /* PROJ is not needed after the build */
  pj = im.pj = NULL;
  dl_proj_release_caches(); /* the only PROJ user of this command, single-threaded */
  if (rc) {
    dl_netwriter_abort(im.w);
    if (im.err.code) e = im.err; /* the writer's own message names the file and the cause */
    goto out;
  }
  report(&rep, &net);
  int unchanged = 0;
  if ((rc = dl_netwriter_close(im.w, &net, force, &unchanged, &e))) goto out;
  progress("%s %s: %u segments, %u nodes, %u roads, %.3f km, EPSG:%d (%.2f s)",
           unchanged ? "up to date (same bytes, not rewritten):" : "wrote", outp, net.n_segs, net.n_nodes,
           net.n_roads, rep.length_m / 1000, epsg, dl_cli_now() - t0);
out:
  dl_proj_free(pj);
  dl_osm_free(&o);
  dl_geopolys_free(&gt);
  dl_geopolys_free(&gd);
  free(tx), free(ty), free(dx), free(dy);
  return rc ? dl_cli_fail("network import", &e) : 0;
}

static void csv_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"') putchar('"');
    putchar(*s);
  }
  putchar('"');
}

static int cmd_info(int argc, char **argv) {
  static const struct option opts[] = {
      {"segments", no_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int segs = 0, c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "sh", opts, NULL)) != -1) { /* options after NET too */
    if (c == 's') segs = 1;
    else if (c == 'h') {
      fputs(HELP, stdout);
      return 0;
    } else
      return dl_cli_usage("network info", "unknown option '%s'", argv[optind - 1]);
  }
  if (argc - optind != 1)
    return argc - optind > 1 ? dl_cli_usage("network info", "expected one network file, got also '%s'",
                                            argv[optind + 1])
                             : dl_cli_usage("network info", "expected one network file");
  const char *path = argv[optind];
  dl_err e;
  dl_err_clear(&e);
  dl_net n;
  dl_netfile *h;
  double t0 = dl_cli_now();
  int rc = dl_network_open(path, &n, &h, &e);
  if (rc) return dl_cli_fail("network info", &e);
  double open_ms = (dl_cli_now() - t0) * 1000;
  if (segs) {
    printf("segment,from,to,osm_way,class,oneway,length_m,road,name,ref,township,district\n");
    for (uint32_t s = 0; s < n.n_segs; s++) {
      printf("%u,%u,%u,%lld,%s,%u,%.3f,", s, n.seg_from[s], n.seg_to[s], (long long)n.seg_way[s],
             dl_hw_name(n.seg_class[s]), n.seg_oneway[s], n.seg_len[s]);
      csv_str(dl_net_str(&n, n.road_name[n.seg_road[s]]));
      putchar(',');
      csv_str(dl_net_str(&n, n.seg_name[s]));
      putchar(',');
      csv_str(dl_net_str(&n, n.seg_ref[s]));
      putchar(',');
      csv_str(n.seg_township[s] >= 0 ? dl_net_str(&n, n.township_name[n.seg_township[s]]) : "");
      putchar(',');
      csv_str(n.seg_district[s] >= 0 ? dl_net_str(&n, n.district_name[n.seg_district[s]]) : "");
      putchar('\n');
    }
    dl_network_close(h);
    return 0;
  }
  double bycls[DL_HW__N];
  uint32_t cnt[DL_HW__N], oneway = 0;
  double tot = dl_net_length(&n, bycls, cnt);
  for (uint32_t s = 0; s < n.n_segs; s++) oneway += n.seg_oneway[s] == DL_ONEWAY_YES;
  printf("file: %s\n", path);
  printf("file_bytes: %llu\n", (unsigned long long)dl_network_file_size(h));
  printf("format_version: %d\n", DL_NETFILE_VERSION);
  printf("open_ms: %.3f\n", open_ms);
  printf("crs: EPSG:%d\n", n.epsg);
  printf("nodes: %u\n", n.n_nodes);
  printf("edges: %u\n", n.n_edges);
  printf("segments: %u\n", n.n_segs);
  printf("oneway_segments: %u\n", oneway);
  printf("vertices: %u\n", n.n_vtx);
  printf("roads: %u\n", n.n_roads);
  printf("length_km: %.3f\n", tot / 1000);
  printf("bbox: %.7f,%.7f,%.7f,%.7f\n", n.bbox[0], n.bbox[1], n.bbox[2], n.bbox[3]);
  printf("townships: %u\n", n.n_townships);
  printf("districts: %u\n", n.n_districts);
  printf("grid: %u x %u cells of %.0f m, %u entries\n", n.grid_nx, n.grid_ny, n.grid_cell, n.n_items);
  for (int k = 0; k < DL_HW__N; k++)
    if (cnt[k]) printf("class_%s: %u segments, %.3f km\n", dl_hw_name(k), cnt[k], bycls[k] / 1000);
  for (int set = 0; set < 2; set++) {
    uint32_t np = set ? n.n_districts : n.n_townships;
    if (!np) continue;
    const int32_t *lab = set ? n.seg_district : n.seg_township;
    const uint32_t *names = set ? n.district_name : n.township_name;
    double *km = calloc(np + 1, sizeof *km);
    uint32_t *ns = calloc(np + 1, sizeof *ns);
    if (!km || !ns) {
      free(km), free(ns);
      dl_network_close(h);
      dl_errf(&e, DL_ENOMEM, "out of memory");
      return dl_cli_fail("network info", &e);
    }
    for (uint32_t s = 0; s < n.n_segs; s++) km[lab[s] + 1] += n.seg_len[s] / 1000, ns[lab[s] + 1]++;
    for (uint32_t p = 0; p <= np; p++)
      printf("%s_%s: %u segments, %.3f km\n", set ? "district" : "township",
             p ? dl_net_str(&n, names[p - 1]) : "(outside)", ns[p], km[p]);
    free(km), free(ns);
  }
  dl_network_close(h);
  return 0;
}

int dl_cmd_network(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(HELP, argc < 2 ? stderr : stdout);
    return argc < 2 ? EX_USAGE : 0;
  }
  if (!strcmp(argv[1], "import")) return cmd_import(argc - 1, argv + 1);
  if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
  return dl_cli_usage("network", "unknown subcommand '%s' (import or info)", argv[1]);
}
