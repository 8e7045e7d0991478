/* manifest.c: run manifest reader (INI through libinih) with checks that
 * name the file, line, section and key of every problem. */
#include "manifest.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

static const char *const role_names[DL_ROLE__N] = {
#define DL_X_NAME(name, str) str,
    DL_ROLE_MAP(DL_X_NAME)
#undef DL_X_NAME
};

const char *dl_role_name(dl_role r) {
  return (r >= 0 && r < DL_ROLE__N) ? role_names[r] : "?";
}

int dl_role_parse(const char *name) {
  for (int i = 0; i < DL_ROLE__N; i++)
    if (!strcasecmp(name, role_names[i])) return i;
  return -1;
}

enum sec_kind { SEC_NONE, SEC_RUN, SEC_GPS, SEC_INST, SEC_CALIB, SEC_PARAMS };

/* Keys of each section, in the order error messages list them. */
static const char *const run_keys[] = {"id", "vehicle", "network", "tags", "tz", NULL};
static const char *const gps_keys[] = {"file", "format", NULL};
static const char *const inst_keys[] = {"file", "format", "role", "channel", "tz",
                                        "clock_offset_s", "inlet_delay_s", NULL};
static const char *const calib_keys[] = {"a", "beta", "file", NULL};

#define MAX_SECTIONS 32
#define MAX_KEYS 8

typedef struct seen_section {
  char name[96];
  int line;
} seen_section;

typedef struct mctx {
  dl_manifest *m;
  dl_err *e;
  int err;       /* first error recorded (status), 0 none */
  int err_line;
  FILE *f;
  int lineno;    /* line last handed to inih */
  int long_line; /* first line longer than inih's buffer, 0 none */
  int sec_line;  /* line of the last [section] header read */
  int cont;      /* the last line read was indented (a continuation) */
  /* the section the handler is in */
  char cur[96];
  int kind, idx, cur_line;
  const char *const *keys;
  int key_line[MAX_KEYS];
  int nseen;
  seen_section seen[MAX_SECTIONS];
  char inst_tz[DL_MANIFEST_MAX_INST]; /* the instrument gave its own tz */
  int calib_line;
} mctx;

/* Line reader for inih that counts lines, notes section headers and
 * flags lines longer than inih's buffer (their rest is skipped). */
static char *read_line(char *str, int num, void *stream) {
  mctx *c = stream;
  if (!fgets(str, num, c->f)) return NULL;
  c->lineno++;
  size_t n = strlen(str);
  if (n && str[n - 1] != '\n' && !feof(c->f)) {
    int ch;
    while ((ch = getc(c->f)) != EOF && ch != '\n') {
    }
    if (!c->long_line) c->long_line = c->lineno;
  }
  const char *p = str;
  c->cont = (*p == ' ' || *p == '\t');
  while (*p == ' ' || *p == '\t') p++;
  if (*p == '[') c->sec_line = c->lineno;
  return str;
}

static int fail(mctx *c, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(mctx *c, int line, int code, const char *fmt, ...) {
  if (c->err) return 1;
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0)
    dl_errf(c->e, code, "%s:%d: %s", c->m->path, line, msg);
  else
    dl_errf(c->e, code, "%s: %s", c->m->path, msg);
  c->err = code;
  c->err_line = line;
  return 1;
}

static char *dup_str(mctx *c, const char *s) {
  char *d = strdup(s);
  if (!d) fail(c, c->lineno, DL_ENOMEM, "out of memory");
  return d;
}

/* Joins a relative path to the manifest's folder. */
static char *resolve(mctx *c, const char *v) {
  if (v[0] == '/' || !strncmp(v, "gpsd://", 7)) return dup_str(c, v);
  size_t n = strlen(c->m->dir) + strlen(v) + 2;
  char *p = malloc(n);
  if (!p) {
    fail(c, c->lineno, DL_ENOMEM, "out of memory");
    return NULL;
  }
  snprintf(p, n, "%s/%s", c->m->dir, v);
  return p;
}

/* Resolves a file key and checks it can be read. */
static char *file_key(mctx *c, const char *key, const char *v) {
  if (!*v) {
    fail(c, c->lineno, DL_ECONFIG, "[%s] key '%s': expected a file name, got nothing", c->cur,
         key);
    return NULL;
  }
  char *p = resolve(c, v);
  if (p && strncmp(p, "gpsd://", 7) && access(p, R_OK) != 0) {
    fail(c, c->lineno, DL_ENOINPUT, "[%s] key '%s': cannot read '%s': %s", c->cur, key, p,
         strerror(errno));
    free(p);
    return NULL;
  }
  return p;
}

static int number_key(mctx *c, const char *key, const char *v, double lo, double hi,
                      const char *what, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  while (*end == ' ') end++;
  if (end == v || *end || !isfinite(x) || errno == ERANGE) {
    fail(c, c->lineno, DL_ECONFIG, "[%s] key '%s': expected %s, got '%s'", c->cur, key, what,
         v);
    return 0;
  }
  if (x < lo || x > hi) {
    fail(c, c->lineno, DL_ECONFIG, "[%s] key '%s': %s must be in [%g, %g], got '%s'", c->cur,
         key, what, lo, hi, v);
    return 0;
  }
  *out = x;
  return 1;
}

static int tz_key(mctx *c, const char *key, const char *v, double *out) {
  if (dl_parse_tz(v, out) != DL_OK) {
    fail(c, c->lineno, DL_ECONFIG, "[%s] key '%s': expected an offset like +08:00, got '%s'",
         c->cur, key, v);
    return 0;
  }
  return 1;
}

static void list_keys(const char *const *keys, char *buf, size_t len) {
  buf[0] = '\0';
  for (int i = 0; keys[i]; i++)
    snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", keys[i]);
}

/* Enters a new section: classifies it and refuses repeats. */
static void enter_section(mctx *c, const char *section) {
  dl_manifest *m = c->m;
  snprintf(c->cur, sizeof c->cur, "%s", section);
  c->cur_line = c->sec_line;
  memset(c->key_line, 0, sizeof c->key_line);
  c->kind = SEC_NONE;
  c->keys = NULL;
  for (int i = 0; i < c->nseen; i++)
    if (!strcasecmp(c->seen[i].name, section)) {
      fail(c, c->cur_line, DL_ECONFIG, "section [%s] given twice (first at line %d)", section,
           c->seen[i].line);
      return;
    }
  if (c->nseen < MAX_SECTIONS) {
    snprintf(c->seen[c->nseen].name, sizeof c->seen[0].name, "%s", section);
    c->seen[c->nseen++].line = c->cur_line;
  }
  /* "word" or "word NAME" */
  char word[32];
  const char *sp = strpbrk(section, " \t");
  size_t wl = sp ? (size_t)(sp - section) : strlen(section);
  const char *name = sp ? sp : "";
  while (*name == ' ' || *name == '\t') name++;
  snprintf(word, sizeof word, "%.*s", (int)(wl < sizeof word ? wl : sizeof word - 1), section);
  if (!strcasecmp(word, "run") && !*name) {
    c->kind = SEC_RUN, c->keys = run_keys;
  } else if (!strcasecmp(word, "gps")) {
    if (m->ngps == DL_MANIFEST_MAX_GPS) {
      fail(c, c->cur_line, DL_ECONFIG, "more than %d GPS sources", DL_MANIFEST_MAX_GPS);
      return;
    }
    c->kind = SEC_GPS, c->keys = gps_keys, c->idx = m->ngps++;
    dl_manifest_gps *g = &m->gps[c->idx];
    snprintf(g->name, sizeof g->name, "%s", name);
    g->line = c->cur_line;
  } else if (!strcasecmp(word, "instrument")) {
    if (!*name) {
      fail(c, c->cur_line, DL_ECONFIG,
           "section [instrument] needs a name, like [instrument tyre_left]");
      return;
    }
    if (m->ninst == DL_MANIFEST_MAX_INST) {
      fail(c, c->cur_line, DL_ECONFIG, "more than %d instruments", DL_MANIFEST_MAX_INST);
      return;
    }
    c->kind = SEC_INST, c->keys = inst_keys, c->idx = m->ninst++;
    dl_manifest_inst *in = &m->inst[c->idx];
    snprintf(in->name, sizeof in->name, "%s", name);
    in->line = c->cur_line;
    in->role = (dl_role)-1;
    dl_inst_opts_default(&in->opts);
  } else if (!strcasecmp(word, "calibration") && !*name) {
    c->kind = SEC_CALIB, c->keys = calib_keys;
  } else if (!strcasecmp(word, "params") && !*name) {
    c->kind = SEC_PARAMS;
  } else {
    fail(c, c->cur_line, DL_ECONFIG,
         "unknown section [%s] (expected [run], [gps], [gps NAME], [instrument NAME], "
         "[calibration], [params])",
         section);
  }
}

static int valid_run_id(const char *s) {
  if (!*s || *s == '.' || strlen(s) > 128) return 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= ' ' || *p == '/' || *p == '\\' || *p == 0x7f) return 0;
  return 1;
}

static void run_key(mctx *c, int k, const char *v) {
  dl_manifest *m = c->m;
  switch (k) {
    case 0:
      if (!valid_run_id(v)) {
        fail(c, c->lineno, DL_ECONFIG,
             "[run] key 'id': expected a name usable in file names (no spaces, '/', '\\' "
             "or leading '.'), got '%s'",
             v);
        return;
      }
      m->run_id = dup_str(c, v);
      break;
    case 1: free(m->vehicle); m->vehicle = dup_str(c, v); break;
    case 2:
      if (!*v) {
        fail(c, c->lineno, DL_ECONFIG, "[run] key 'network': expected a file name, got nothing");
        return;
      }
      m->network = resolve(c, v);
      m->network_line = c->lineno;
      break;
    case 3: m->tags = file_key(c, "tags", v); break;
    case 4:
      if (tz_key(c, "tz", v, &m->tz_offset_s)) m->have_tz = 1;
      break;
  }
}

static void gps_key(mctx *c, int k, const char *v) {
  dl_manifest_gps *g = &c->m->gps[c->idx];
  if (k == 0) {
    g->path = file_key(c, "file", v);
  } else {
    dl_format f = !strcasecmp(v, "auto") ? DL_FMT_UNKNOWN
                  : !strcasecmp(v, "csv") ? DL_FMT_GPS_CSV
                                          : dl_format_parse(v);
    if (strcasecmp(v, "auto") && !dl_format_is_gps(f)) {
      fail(c, c->lineno, DL_ECONFIG,
           "[%s] key 'format': expected auto, nmea, gpsd-json, gpsd, gpx, plt or gps-csv, "
           "got '%s'",
           c->cur, v);
      return;
    }
    g->format = f;
  }
}

static void inst_key(mctx *c, int k, const char *v) {
  dl_manifest *m = c->m;
  dl_manifest_inst *in = &m->inst[c->idx];
  switch (k) {
    case 0: in->path = file_key(c, "file", v); break;
    case 1: {
      dl_format f = !strcasecmp(v, "auto") ? DL_FMT_UNKNOWN : dl_format_parse(v);
      if (strcasecmp(v, "auto") && !dl_format_is_instrument(f)) {
        fail(c, c->lineno, DL_ECONFIG,
             "[%s] key 'format': expected auto, dusttrak or csv, got '%s'", c->cur, v);
        return;
      }
      in->format = f;
      break;
    }
    case 2: {
      int r = dl_role_parse(v);
      if (r < 0) {
        fail(c, c->lineno, DL_ECONFIG,
             "[%s] key 'role': expected tyre, tyre_left, tyre_right, background or ambient, "
             "got '%s'",
             c->cur, v);
        return;
      }
      int other = m->role_inst[r];
      if (other >= 0) {
        fail(c, c->lineno, DL_ECONFIG,
             "[%s] key 'role': role '%s' is already taken by [instrument %s] (line %d)",
             c->cur, v, m->inst[other].name, m->inst[other].line);
        return;
      }
      /* one tyre inlet, or a left and/or right pair; ambient stands alone */
      for (int j = 0; j < DL_ROLE__N; j++) {
        int o = m->role_inst[j];
        if (o < 0) continue;
        int clash = (r == DL_ROLE_TYRE && (j == DL_ROLE_TYRE_LEFT || j == DL_ROLE_TYRE_RIGHT)) ||
                    (j == DL_ROLE_TYRE && (r == DL_ROLE_TYRE_LEFT || r == DL_ROLE_TYRE_RIGHT)) ||
                    r == DL_ROLE_AMBIENT || j == DL_ROLE_AMBIENT;
        if (clash) {
          fail(c, c->lineno, DL_ECONFIG,
               "[%s] key 'role': '%s' cannot be combined with '%s' of [instrument %s] "
               "(line %d): use tyre alone or tyre_left/tyre_right, and ambient only for a "
               "single-inlet rig",
               c->cur, v, role_names[j], m->inst[o].name, m->inst[o].line);
          return;
        }
      }
      in->role = (dl_role)r;
      m->role_inst[r] = c->idx;
      break;
    }
    case 3:
      if (!*v) {
        fail(c, c->lineno, DL_ECONFIG, "[%s] key 'channel': expected a channel name, got nothing",
             c->cur);
        return;
      }
      in->channel = dup_str(c, v);
      in->opts.channel = in->channel;
      break;
    case 4:
      if (tz_key(c, "tz", v, &in->opts.tz_offset_s)) {
        in->opts.have_tz = 1;
        c->inst_tz[c->idx] = 1;
      }
      break;
    case 5:
      number_key(c, "clock_offset_s", v, -86400, 86400, "seconds", &in->opts.clock_offset_s);
      break;
    case 6: number_key(c, "inlet_delay_s", v, 0, 600, "seconds", &in->inlet_delay_s); break;
  }
}

static void calib_key(mctx *c, int k, const char *v) {
  dl_manifest *m = c->m;
  if ((k == 2 && (m->have_calib_a || m->have_calib_beta)) || (k < 2 && m->calib_file)) {
    fail(c, c->lineno, DL_ECONFIG,
         "[calibration] key '%s': give either a and beta, or file, not both (line %d)",
         calib_keys[k], c->calib_line);
    return;
  }
  c->calib_line = c->lineno;
  if (k == 0) {
    if (number_key(c, "a", v, 1e-9, 1e9, "a positive number", &m->calib_a)) m->have_calib_a = 1;
  } else if (k == 1) {
    if (number_key(c, "beta", v, 1e-6, 100, "a positive exponent", &m->calib_beta))
      m->have_calib_beta = 1;
  } else {
    m->calib_file = file_key(c, "file", v);
  }
}

static void param_key(mctx *c, const char *name, const char *v) {
  dl_manifest *m = c->m;
  for (int i = 0; i < m->nparams; i++)
    if (!strcasecmp(m->params[i].key, name)) {
      fail(c, c->lineno, DL_ECONFIG, "[params] key '%s' given twice (first at line %d)", name,
           m->params[i].line);
      return;
    }
  dl_manifest_param *p = realloc(m->params, (size_t)(m->nparams + 1) * sizeof *p);
  if (!p) {
    fail(c, c->lineno, DL_ENOMEM, "out of memory");
    return;
  }
  m->params = p;
  p[m->nparams].key = dup_str(c, name);
  p[m->nparams].value = dup_str(c, v);
  p[m->nparams].line = c->lineno;
  m->nparams++;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  mctx *c = user;
  if (c->err) return 1;
  if (c->long_line) {
    fail(c, c->long_line, DL_ECONFIG, "line longer than the INI reader's limit; shorten it");
    return 1;
  }
  if (!*section) {
    fail(c, c->lineno, DL_ECONFIG, "key '%s' before any [section]", name);
    return 1;
  }
  if (strcmp(section, c->cur) != 0 || c->sec_line != c->cur_line) enter_section(c, section);
  if (c->err) return 1;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if (*p < 0x20 && *p != '\t') {
      fail(c, c->lineno, DL_ECONFIG, "[%s] key '%s': control character in the value", c->cur,
           name);
      return 1;
    }
  if (c->kind == SEC_PARAMS) {
    param_key(c, name, value);
    return 1;
  }
  int k = -1;
  for (int i = 0; c->keys[i]; i++)
    if (!strcasecmp(name, c->keys[i])) k = i;
  if (k < 0) {
    char list[200];
    list_keys(c->keys, list, sizeof list);
    fail(c, c->lineno, DL_ECONFIG, "[%s] unknown key '%s' (expected %s)", c->cur, name, list);
    return 1;
  }
  if (c->key_line[k]) {
    fail(c, c->lineno, DL_ECONFIG, "[%s] key '%s' given twice (first at line %d)%s", c->cur,
         name, c->key_line[k], c->cont ? "; an indented line continues the previous key" : "");
    return 1;
  }
  c->key_line[k] = c->lineno;
  switch (c->kind) {
    case SEC_RUN: run_key(c, k, value); break;
    case SEC_GPS: gps_key(c, k, value); break;
    case SEC_INST: inst_key(c, k, value); break;
    case SEC_CALIB: calib_key(c, k, value); break;
  }
  return 1;
}

/* Checks that need the whole file: required keys and the set of roles. */
static void check_whole(mctx *c) {
  dl_manifest *m = c->m;
  int run_line = 0;
  for (int i = 0; i < c->nseen; i++)
    if (!strcasecmp(c->seen[i].name, "run")) run_line = c->seen[i].line;
  if (!run_line) {
    fail(c, 0, DL_ECONFIG, "no [run] section (it names the run: id = ...)");
    return;
  }
  if (!m->run_id) {
    fail(c, run_line, DL_ECONFIG, "[run]: missing key 'id'");
    return;
  }
  if (!m->vehicle) m->vehicle = dup_str(c, "");
  if (m->ngps == 0) {
    fail(c, 0, DL_ECONFIG, "no GPS source: add a [gps] section with file = ...");
    return;
  }
  for (int i = 0; i < m->ngps; i++) {
    const dl_manifest_gps *g = &m->gps[i];
    const char *sp = g->name[0] ? " " : "";
    if (!g->path) {
      fail(c, g->line, DL_ECONFIG, "[gps%s%s]: missing key 'file'", sp, g->name);
      return;
    }
    int live = !strncmp(g->path, "gpsd://", 7);
    if (live != (g->format == DL_FMT_GPSD_LIVE) && (g->format != DL_FMT_UNKNOWN || !live)) {
      fail(c, g->line, DL_ECONFIG,
           "[gps%s%s]: format gpsd goes with file = gpsd://HOST:PORT, and only with it", sp,
           g->name);
      return;
    }
  }
  if (m->ninst == 0) {
    fail(c, 0, DL_ECONFIG, "no instrument: add an [instrument NAME] section per inlet");
    return;
  }
  for (int i = 0; i < m->ninst; i++) {
    dl_manifest_inst *in = &m->inst[i];
    const char *miss = !in->path ? "file" : (int)in->role < 0 ? "role" : NULL;
    if (miss) {
      fail(c, in->line, DL_ECONFIG, "[instrument %s]: missing key '%s'", in->name, miss);
      return;
    }
    if (!strncmp(in->path, "gpsd://", 7)) {
      fail(c, in->line, DL_ECONFIG, "[instrument %s]: key 'file': gpsd:// is a GPS source",
           in->name);
      return;
    }
    if (!c->inst_tz[i] && m->have_tz) {
      in->opts.tz_offset_s = m->tz_offset_s;
      in->opts.have_tz = 1;
    }
  }
  const int *r = m->role_inst;
  int tyre = r[DL_ROLE_TYRE] >= 0 || r[DL_ROLE_TYRE_LEFT] >= 0 || r[DL_ROLE_TYRE_RIGHT] >= 0;
  if (r[DL_ROLE_AMBIENT] < 0) {
    if (!tyre)
      fail(c, 0, DL_ECONFIG,
           "no tyre inlet: give an instrument role tyre (or tyre_left/tyre_right), or "
           "ambient for a single-inlet rig");
    else if (r[DL_ROLE_BACKGROUND] < 0)
      fail(c, 0, DL_ECONFIG,
           "no background inlet: the dust-load excess is tyre minus background; add an "
           "instrument with role = background");
  }
}

void dl_manifest_free(dl_manifest *m) {
  if (!m) return;
  free(m->path);
  free(m->dir);
  free(m->run_id);
  free(m->vehicle);
  free(m->network);
  free(m->tags);
  free(m->calib_file);
  for (int i = 0; i < DL_MANIFEST_MAX_GPS; i++) free(m->gps[i].path);
  for (int i = 0; i < DL_MANIFEST_MAX_INST; i++) {
    free(m->inst[i].path);
    free(m->inst[i].channel);
  }
  for (int i = 0; i < m->nparams; i++) {
    free(m->params[i].key);
    free(m->params[i].value);
  }
  free(m->params);
  memset(m, 0, sizeof *m);
}

/* Text of line n of a file (for syntax errors inih reports by number). */
static void line_text(const char *path, int n, char *buf, size_t len) {
  buf[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  int k = 0, ch;
  size_t i = 0;
  while ((ch = getc(f)) != EOF) {
    if (ch == '\n') {
      if (++k >= n) break;
      continue;
    }
    if (k == n - 1 && ch != '\r' && i + 1 < len) buf[i++] = (char)(ch >= 0x20 ? ch : '?');
  }
  buf[i] = '\0';
  fclose(f);
}

int dl_manifest_read(const char *path, dl_manifest *m, dl_err *e) {
  memset(m, 0, sizeof *m);
  for (int i = 0; i < DL_ROLE__N; i++) m->role_inst[i] = -1;
  m->calib_a = m->calib_beta = NAN;
  m->path = strdup(path);
  const char *slash = strrchr(path, '/');
  m->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  if (!m->path || !m->dir) {
    dl_manifest_free(m);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  mctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.e = e;
  c.f = fopen(path, "r");
  struct stat st;
  if (!c.f || (fstat(fileno(c.f), &st) == 0 && S_ISDIR(st.st_mode))) {
    int rc = c.f ? dl_errf(e, DL_ENOINPUT, "%s: is a folder, expected a manifest file", path)
                 : dl_errf(e, DL_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
    if (c.f) fclose(c.f);
    dl_manifest_free(m);
    return rc;
  }
  c.cur_line = -1;
  int ret = ini_parse_stream(read_line, &c, handler, &c);
  fclose(c.f);
  if (ret == -2) {
    if (!c.err) fail(&c, 0, DL_ENOMEM, "out of memory");
  } else if (ret > 0 && (!c.err || ret < c.err_line)) {
    char text[120];
    line_text(path, ret, text, sizeof text);
    c.err = 0;
    fail(&c, ret, DL_ECONFIG, "expected '[section]' or 'key = value', got '%s'", text);
  } else if (!c.err && c.long_line) {
    fail(&c, c.long_line, DL_ECONFIG, "line longer than the INI reader's limit; shorten it");
  }
  if (!c.err) check_whole(&c);
  if (c.err) {
    int rc = c.err;
    dl_manifest_free(m);
    return rc;
  }
  return DL_OK;
}

int dl_manifest_network(const dl_manifest *m, const char *override, const char **path,
                        dl_err *e) {
  *path = NULL;
  if (override) {
    if (access(override, R_OK) != 0)
      return dl_errf(e, DL_ENOINPUT, "--network: cannot read '%s': %s", override,
                     strerror(errno));
    *path = override;
    return DL_OK;
  }
  if (!m->network)
    return dl_errf(e, DL_EUSAGE,
                   "%s: no road network: give --network FILE or [run] network = FILE", m->path);
  if (access(m->network, R_OK) != 0)
    return dl_errf(e, DL_ENOINPUT, "%s:%d: [run] key 'network': cannot read '%s': %s", m->path,
                   m->network_line, m->network, strerror(errno));
  *path = m->network;
  return DL_OK;
}
