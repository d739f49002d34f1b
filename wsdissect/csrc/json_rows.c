/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: pretty JSON and follow's text rows:
 * json_indent, text_row(s) (render/text.py, render/transcript.py). */

/* ---- jsonc: pretty JSON and follow's text rows (render/text.py, render/transcript.py) ------------------------ *
 * json_indent(text, limit): the first *limit* characters of json.dumps(json.loads(text), indent=2,
 *   ensure_ascii=False) as UTF-8, for a JSON object or array that needs no judgement; None for anything else
 *   (invalid JSON, duplicate keys, NaN/Infinity, very long numbers, deep nesting, any character render/text.py's
 *   safe() would escape), and then text.py's Python path decides.
 * text_row(text, payload, limit, open, close, indent): the bytes TranscriptRows.row writes for a plain text
 *   message (the head ``text   N B`` between *open* and *close*, then the indented JSON or the text), or None;
 *   *text* is *payload* decoded (its UTF-8 is read from *payload*).
 * text_rows(events, start, head, rules, frame, batch): text_row for each Message from events[start] on that follow
 *   shows as a plain text row under the current head, appended to batch; the index where it stopped. */

#define JX_DEPTH 128            /* deeper nesting is left to the Python path */
#define JX_KEYS 512             /* so are objects with more keys (the duplicate check is quadratic) */
#define JX_INT_DIGITS 640       /* Python's smallest limit on int() digits */
#define JX_JSON_LIMIT (1 << 20) /* render/text.py JSON_LIMIT: longer text is never indented */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    const char *nl;  /* a line break: "\n", then the row's indent */
    Py_ssize_t nl_len, lines;
    Py_ssize_t *keys;  /* start and end (in buf) of the keys of the objects being read */
    Py_ssize_t nkeys, keys_cap;
} JxOut;

static char *jx_buf = NULL;  /* reused from call to call (the GIL is held throughout) */
static Py_ssize_t jx_buf_cap = 0;
static Py_ssize_t *jx_keys = NULL;
static Py_ssize_t jx_keys_cap = 0;

static int
jx_grow(JxOut *o, Py_ssize_t n)
{
    Py_ssize_t cap = o->cap * 2 > o->len + n + 256 ? o->cap * 2 : o->len + n + 256;
    char *b = PyMem_Realloc(o->buf, cap);
    if (b == NULL)
        return -1;
    o->buf = b;
    o->cap = cap;
    return 0;
}

#define JX_PUT(o, s, n) do { Py_ssize_t n_ = (n); \
    if ((o)->len + n_ > (o)->cap && jx_grow((o), n_) < 0) return NULL; \
    memcpy((o)->buf + (o)->len, (s), n_); (o)->len += n_; } while (0)

static void
jx_start(JxOut *o, const char *nl, Py_ssize_t nl_len)
{
    o->buf = jx_buf;
    o->cap = jx_buf_cap;
    o->len = o->lines = o->nkeys = 0;
    o->nl = nl;
    o->nl_len = nl_len;
    o->keys = jx_keys;
    o->keys_cap = jx_keys_cap;
}

static void
jx_finish(JxOut *o)
{
    if (o->cap > (1 << 20)) {  /* a huge message: give the memory back */
        PyMem_Free(o->buf);
        o->buf = NULL;
        o->cap = 0;
    }
    jx_buf = o->buf;
    jx_buf_cap = o->cap;
    jx_keys = o->keys;
    jx_keys_cap = o->keys_cap;
}

static int
jx_put_raw(JxOut *o, const char *s, Py_ssize_t n)
{
    if (o->len + n > o->cap && jx_grow(o, n) < 0)
        return -1;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    return 0;
}

static int
jx_put_bytes(JxOut *o, PyObject *b)
{
    return jx_put_raw(o, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
}

/* jx_plain[b]: byte b may be copied into a string as it is: printable ASCII but the quote and the backslash, and
 * every byte of a UTF-8 sequence except the lead bytes of the sequences safe() may escape (U+0080-U+009F start
 * with C2, U+061C with D8, the U+2xxx formatting characters with E2, U+FEFF and U+FFF9-U+FFFB with EF, and
 * surrogates, which a str's own UTF-8 never has but a payload given for it might, with ED). */
static unsigned char jx_plain[256];

static void
jx_init(void)
{
    if (jx_plain['a'])
        return;
    for (int b = 0x20; b < 0x100; b++)
        jx_plain[b] = b != '"' && b != '\\' && b != 0x7f && b != 0xc2 && b != 0xd8 && b != 0xe2 && b != 0xed
            && b != 0xef;
}

static const unsigned char *
jx_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static int
jx_newline(JxOut *o, int depth)
{
    Py_ssize_t n = o->nl_len + 2 * depth;
    if (o->len + n > o->cap && jx_grow(o, n) < 0)
        return -1;
    memcpy(o->buf + o->len, o->nl, o->nl_len);
    memset(o->buf + o->len + o->nl_len, ' ', 2 * depth);
    o->len += n;
    o->lines++;
    return 0;
}

/* A character safe() escapes even with newlines=True (render/text.py _UNSAFE; C0 controls are handled apart). */
static int
jx_unsafe(Py_UCS4 c)
{
    if (c < 0x600)
        return c >= 0x7f && c <= 0x9f;
    return c == 0x61c || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e)
        || (c >= 0x2060 && c <= 0x2069) || (c >= 0xd800 && c <= 0xdfff) || c == 0xfeff
        || (c >= 0xfff9 && c <= 0xfffb);
}

/* The UTF-8 sequence at *p* (valid: CPython's own UTF-8 of a str), or -1 when safe() would escape it. */
static int
jx_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = *p;
    int n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (end - p < n)
        return -1;
    Py_UCS4 cp = n == 2 ? ((c & 0x1f) << 6) | (p[1] & 0x3f)
        : n == 3 ? ((c & 0x0f) << 12) | ((p[1] & 0x3f) << 6) | (p[2] & 0x3f) : 0x10000;
    return jx_unsafe(cp) ? -1 : n;
}

/* One decoded character written as json.dumps(ensure_ascii=False) writes it; -1 where safe() would escape it. */
static int
jx_put_char(JxOut *o, Py_UCS4 c)
{
    char b[8];
    int n;
    if (c == '"' || c == '\\') {
        b[0] = '\\'; b[1] = (char)c; n = 2;
    } else if (c < 0x20) {
        const char *named = c == '\n' ? "n" : c == '\r' ? "r" : c == '\t' ? "t" : c == '\b' ? "b" : c == '\f' ? "f" : NULL;
        n = named ? snprintf(b, sizeof b, "\\%s", named) : snprintf(b, sizeof b, "\\u%04x", (unsigned)c);
    } else if (jx_unsafe(c)) {
        return -1;
    } else if (c < 0x80) {
        b[0] = (char)c; n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xc0 | (c >> 6)); b[1] = (char)(0x80 | (c & 0x3f)); n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xe0 | (c >> 12)); b[1] = (char)(0x80 | ((c >> 6) & 0x3f)); b[2] = (char)(0x80 | (c & 0x3f)); n = 3;
    } else {
        b[0] = (char)(0xf0 | (c >> 18)); b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3f)); b[3] = (char)(0x80 | (c & 0x3f)); n = 4;
    }
    if (o->len + n > o->cap && jx_grow(o, n) < 0)
        return -1;
    memcpy(o->buf + o->len, b, n);
    o->len += n;
    return 0;
}

static int
jx_hex4(const unsigned char *p, const unsigned char *end, Py_UCS4 *out)
{
    Py_UCS4 v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = (v << 4) | (Py_UCS4)d;
    }
    *out = v;
    return 0;
}

/* The escape after a backslash at *p*: the decoded character, re-escaped as json.dumps does. */
static const unsigned char *
jx_escape(JxOut *o, const unsigned char *p, const unsigned char *end)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    Py_UCS4 c, lo;
    if (p >= end)
        return NULL;
    if (*p != 'u') {
        const char *at = *p ? strchr(from, *p) : NULL;
        if (at == NULL)
            return NULL;
        return jx_put_char(o, (Py_UCS4)(unsigned char)to[at - from]) < 0 ? NULL : p + 1;
    }
    if (jx_hex4(p + 1, end, &c) < 0)
        return NULL;
    p += 5;
    if (c >= 0xd800 && c <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u'
            && jx_hex4(p + 2, end, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
    }
    return jx_put_char(o, c) < 0 ? NULL : p;  /* (a lone surrogate is unsafe: -1) */
}

/* A string token at *p* (its opening quote), written back as json.dumps writes the decoded string. */
static const unsigned char *
jx_string(JxOut *o, const unsigned char *p, const unsigned char *end)
{
    JX_PUT(o, "\"", 1);
    p++;
    for (;;) {
        const unsigned char *run = p;
        for (;;) {
            while (p < end && jx_plain[*p])
                p++;
            if (p >= end || *p < 0x80)
                break;
            int n = jx_utf8_len(p, end);
            if (n < 0)
                return NULL;
            p += n;
        }
        if (p >= end || *p < 0x20 || *p == 0x7f)  /* unterminated, a raw control (invalid), DEL (escaped) */
            return NULL;
        JX_PUT(o, run, p - run);
        if (*p == '"') {
            JX_PUT(o, "\"", 1);
            return p + 1;
        }
        p = jx_escape(o, p + 1, end);
        if (p == NULL)
            return NULL;
    }
}

static int
jx_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* repr(float(token)), json.dumps' float.  A token without exponent whose digits are at most 15 (any such decimal
 * is the shortest that reads back as its double, so repr shows exactly its digits) and that repr writes without
 * exponent (from 1e-4 up, under 1e16) is written as it is, the trailing zeros of its fraction dropped; anything
 * else goes through PyOS_double_to_string, the function behind repr. */
static int
jx_float(JxOut *o, const unsigned char *s, const unsigned char *dot, const unsigned char *e, int exp)
{
    if (dot != NULL && !exp) {
        const unsigned char *f = e, *digits = s + (*s == '-');
        while (f > dot + 1 && f[-1] == '0')
            f--;
        Py_ssize_t whole = dot - digits, frac = f - dot - 1, zeros = 0;
        if (whole == 1 && *digits == '0') {
            while (zeros < frac && dot[1 + zeros] == '0')
                zeros++;
            whole = 0;
        }
        if ((zeros <= 3 || zeros == frac) && whole + frac - zeros <= 15) {
            if (o->len + (e - s) + 2 > o->cap && jx_grow(o, (e - s) + 2) < 0)
                return -1;
            memcpy(o->buf + o->len, s, f - s);
            o->len += f - s;
            if (frac == 0)
                o->buf[o->len++] = '0';
            return 0;
        }
    }
    char tmp[400], *stop;
    if (e - s >= (Py_ssize_t)sizeof tmp)
        return -1;
    memcpy(tmp, s, e - s);
    tmp[e - s] = '\0';
    double x = PyOS_string_to_double(tmp, &stop, NULL);
    if ((x == -1.0 && PyErr_Occurred()) || stop != tmp + (e - s) || !isfinite(x)) {
        PyErr_Clear();
        return -1;
    }
    char *r = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL) {
        PyErr_Clear();
        return -1;
    }
    Py_ssize_t n = (Py_ssize_t)strlen(r);
    int rc = o->len + n > o->cap && jx_grow(o, n) < 0 ? -1 : 0;
    if (rc == 0) {
        memcpy(o->buf + o->len, r, n);
        o->len += n;
    }
    PyMem_Free(r);
    return rc;
}

/* A number token: an integer as it is (-0 is 0), a float as repr writes it. */
static const unsigned char *
jx_number(JxOut *o, const unsigned char *p, const unsigned char *end)
{
    const unsigned char *s = p, *dot = NULL;
    int exp = 0;
    if (*p == '-')
        p++;
    if (!jx_digit(p, end))
        return NULL;  /* (-Infinity too) */
    if (*p++ != '0')
        while (jx_digit(p, end))
            p++;
    if (p < end && *p == '.') {
        dot = p++;
        if (!jx_digit(p, end))
            return NULL;
        while (jx_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!jx_digit(p, end))
            return NULL;
        while (jx_digit(p, end))
            p++;
        exp = 1;
    }
    if (dot != NULL || exp)
        return jx_float(o, s, dot, p, exp) < 0 ? NULL : p;
    if (p - s > JX_INT_DIGITS)
        return NULL;
    if (p - s == 2 && s[0] == '-' && s[1] == '0')
        s++;
    JX_PUT(o, s, p - s);
    return p;
}

static const unsigned char *
jx_literal(JxOut *o, const unsigned char *p, const unsigned char *end, const char *word)
{
    Py_ssize_t n = (Py_ssize_t)strlen(word);
    if (end - p < n || memcmp(p, word, n) != 0)
        return NULL;
    JX_PUT(o, word, n);
    return p + n;
}

static const unsigned char *jx_value(JxOut *, const unsigned char *, const unsigned char *, int);

static const unsigned char *
jx_array(JxOut *o, const unsigned char *p, const unsigned char *end, int depth)
{
    p = jx_ws(p, end);
    if (p < end && *p == ']') {
        JX_PUT(o, "[]", 2);
        return p + 1;
    }
    JX_PUT(o, "[", 1);
    for (;;) {
        if (jx_newline(o, depth) < 0 || (p = jx_value(o, p, end, depth)) == NULL)
            return NULL;
        p = jx_ws(p, end);
        if (p < end && *p == ',') {
            JX_PUT(o, ",", 1);
            p = jx_ws(p + 1, end);
        } else if (p < end && *p == ']') {
            if (jx_newline(o, depth - 1) < 0)
                return NULL;
            JX_PUT(o, "]", 1);
            return p + 1;
        } else {
            return NULL;
        }
    }
}

/* The key just written at buf[start:] is remembered; -1 if the object already has it (json.loads would keep the
 * first position with the last value) or has too many keys to check. */
static int
jx_new_key(JxOut *o, Py_ssize_t first, Py_ssize_t start)
{
    Py_ssize_t n = o->len - start;
    if (o->nkeys - first >= JX_KEYS)
        return -1;
    for (Py_ssize_t i = first; i < o->nkeys; i++)
        if (o->keys[2 * i + 1] - o->keys[2 * i] == n && memcmp(o->buf + o->keys[2 * i], o->buf + start, n) == 0)
            return -1;
    if (o->nkeys >= o->keys_cap) {
        Py_ssize_t cap = o->keys_cap ? o->keys_cap * 2 : 64;
        Py_ssize_t *k = PyMem_Realloc(o->keys, cap * 2 * sizeof(Py_ssize_t));
        if (k == NULL)
            return -1;
        o->keys = k;
        o->keys_cap = cap;
    }
    o->keys[2 * o->nkeys] = start;
    o->keys[2 * o->nkeys + 1] = o->len;
    o->nkeys++;
    return 0;
}

static const unsigned char *
jx_object(JxOut *o, const unsigned char *p, const unsigned char *end, int depth)
{
    Py_ssize_t first = o->nkeys;
    p = jx_ws(p, end);
    if (p < end && *p == '}') {
        JX_PUT(o, "{}", 2);
        return p + 1;
    }
    JX_PUT(o, "{", 1);
    for (;;) {
        Py_ssize_t start = o->len + o->nl_len + 2 * depth;
        if (p >= end || *p != '"' || jx_newline(o, depth) < 0 || (p = jx_string(o, p, end)) == NULL
                || jx_new_key(o, first, start) < 0)
            return NULL;
        p = jx_ws(p, end);
        if (p >= end || *p != ':')
            return NULL;
        JX_PUT(o, ": ", 2);
        if ((p = jx_value(o, jx_ws(p + 1, end), end, depth)) == NULL)
            return NULL;
        p = jx_ws(p, end);
        if (p < end && *p == ',') {
            JX_PUT(o, ",", 1);
            p = jx_ws(p + 1, end);
        } else if (p < end && *p == '}') {
            o->nkeys = first;
            if (jx_newline(o, depth - 1) < 0)
                return NULL;
            JX_PUT(o, "}", 1);
            return p + 1;
        } else {
            return NULL;
        }
    }
}

static const unsigned char *
jx_value(JxOut *o, const unsigned char *p, const unsigned char *end, int depth)
{
    if (p >= end)
        return NULL;
    switch (*p) {
    case '{':
        return depth >= JX_DEPTH ? NULL : jx_object(o, p + 1, end, depth + 1);
    case '[':
        return depth >= JX_DEPTH ? NULL : jx_array(o, p + 1, end, depth + 1);
    case '"':
        return jx_string(o, p, end);
    case 't':
        return jx_literal(o, p, end, "true");
    case 'f':
        return jx_literal(o, p, end, "false");
    case 'n':
        return jx_literal(o, p, end, "null");
    default:
        return *p == '-' || (*p >= '0' && *p <= '9') ? jx_number(o, p, end) : NULL;  /* (NaN, Infinity: None) */
    }
}

/* A whole JSON object or array (white space around it) written indented; -1 for anything else. */
static int
jx_document(JxOut *o, const char *text, Py_ssize_t n)
{
    const unsigned char *end = (const unsigned char *)text + n, *p = jx_ws((const unsigned char *)text, end);
    if (p >= end || (*p != '{' && *p != '['))
        return -1;
    p = jx_value(o, p, end, 0);
    return p != NULL && jx_ws(p, end) == end ? 0 : -1;
}

/* The text's UTF-8 (NULL, no error set, for text the C path leaves alone: too long, lone surrogates). */
static const char *
jx_utf8(PyObject *text, Py_ssize_t *n)
{
    if (PyUnicode_GET_LENGTH(text) > JX_JSON_LIMIT)
        return NULL;
    const char *s = PyUnicode_AsUTF8AndSize(text, n);
    if (s == NULL)
        PyErr_Clear();
    return s;
}

/* The length in bytes of the first *limit* characters of UTF-8 *b*. */
static Py_ssize_t
jx_cut(const char *b, Py_ssize_t n, Py_ssize_t limit)
{
    Py_ssize_t chars = 0;
    if (n <= limit)
        return n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (((unsigned char)b[i] & 0xc0) != 0x80) {
            if (chars == limit)
                return i;
            chars++;
        }
    }
    return n;
}

static PyObject *
json_indent(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "json_indent(text: str, limit: int)");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]), n;
    if (limit < 0) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    const char *s = jx_utf8(args[0], &n);
    if (s == NULL)
        Py_RETURN_NONE;
    jx_init();
    JxOut o;
    jx_start(&o, "\n", 1);
    PyObject *out = jx_document(&o, s, n) < 0 ? Py_NewRef(Py_None)
        : PyBytes_FromStringAndSize(o.buf, jx_cut(o.buf, o.len, limit));
    jx_finish(&o);
    return out;
}

/* Plain text as safe() shows it when it changes nothing but tabs: one line ("  " then the text, tabs as \t) or,
 * with newlines, a block of lines under the head (tabs as four spaces); -1 for anything else safe() escapes. */
static int
jx_text_lines(JxOut *o, const char *text, Py_ssize_t n, PyObject *close)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + n;
    int block = memchr(text, '\n', n) != NULL;
    if (block ? jx_put_bytes(o, close) < 0 || jx_put_raw(o, o->nl + 1, o->nl_len - 1) < 0 : jx_put_raw(o, "  ", 2) < 0)
        return -1;
    while (p < end) {
        const unsigned char *run = p;
        for (;;) {
            while (p < end && (jx_plain[*p] || *p == '"' || *p == '\\'))
                p++;
            if (p >= end || *p < 0x80)
                break;
            int len = jx_utf8_len(p, end);
            if (len < 0)
                return -1;
            p += len;
        }
        if (jx_put_raw(o, (const char *)run, p - run) < 0)
            return -1;
        if (p == end)
            break;
        if (*p == '\t' ? jx_put_raw(o, block ? "    " : "\\t", block ? 4 : 2) < 0
                : *p != '\n' || jx_put_raw(o, o->nl, o->nl_len) < 0)
            return -1;
        p++;
    }
    return block ? jx_put_raw(o, "\n", 1) : jx_put_bytes(o, close);
}

/* The indented JSON under the head line; -1 where it is not plain JSON or has more than *limit* characters. */
static int
jx_json_lines(JxOut *o, const char *text, Py_ssize_t n, Py_ssize_t limit, PyObject *close)
{
    if (jx_put_bytes(o, close) < 0 || jx_put_raw(o, o->nl + 1, o->nl_len - 1) < 0)
        return -1;
    Py_ssize_t start = o->len;
    if (jx_document(o, text, n) < 0)
        return -1;
    if (o->len - start - o->lines * (o->nl_len - 1) > limit)  /* (bytes: at least the characters) */
        return -1;
    return jx_put_raw(o, "\n", 1);
}

/* ``text   N B``: TranscriptRows.text_head for a payload of *length* bytes. */
static int
jx_put_head(JxOut *o, Py_ssize_t length)
{
    char b[48], digits[24];
    int n = 0, k = 7;
    do {
        digits[n++] = (char)('0' + length % 10);
        length /= 10;
    } while (length);
    memcpy(b, "text   ", 7);
    for (int i = n; i < 8; i++)
        b[k++] = ' ';
    while (n)
        b[k++] = digits[--n];
    b[k++] = ' ';
    b[k++] = 'B';
    return jx_put_raw(o, b, k);
}

/* The UTF-8 of a message's text: the str's own bytes when it is ASCII, else the payload it was decoded from (when
 * it has as many characters), else CPython's UTF-8 of it; NULL (no error set) where the C path leaves it. */
static const char *
jx_text_utf8(PyObject *text, PyObject *payload, Py_ssize_t *n)
{
    Py_ssize_t chars = PyUnicode_GET_LENGTH(text), count = 0, size = PyBytes_GET_SIZE(payload);
    if (chars > JX_JSON_LIMIT)
        return NULL;
    if (PyUnicode_IS_ASCII(text)) {
        *n = chars;
        return (const char *)PyUnicode_DATA(text);
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(payload);
    for (Py_ssize_t i = 0; i < size; i++)
        count += (b[i] & 0xc0) != 0x80;
    if (count == chars) {
        *n = size;
        return (const char *)b;
    }
    return jx_utf8(text, n);
}

/* The row of a plain text message (see text_row), or None; NULL with an exception set only when out of memory. */
static PyObject *
jx_row(PyObject *text, PyObject *payload, Py_ssize_t limit, PyObject *open, PyObject *close, PyObject *indent)
{
    char nl[256];
    Py_ssize_t n, width = PyBytes_GET_SIZE(indent);
    const char *s = jx_text_utf8(text, payload, &n);
    if (s == NULL || width >= (Py_ssize_t)sizeof nl || limit < 0)
        Py_RETURN_NONE;
    jx_init();
    nl[0] = '\n';
    memcpy(nl + 1, PyBytes_AS_STRING(indent), width);
    JxOut o;
    jx_start(&o, nl, width + 1);
    Py_UCS4 first = PyUnicode_GET_LENGTH(text) ? PyUnicode_READ_CHAR(text, 0) : 0;
    int ok = jx_put_bytes(&o, open) == 0 && jx_put_head(&o, PyBytes_GET_SIZE(payload)) == 0
        && (first == '{' || first == '[' || Py_UNICODE_ISSPACE(first) ? jx_json_lines(&o, s, n, limit, close)
            : jx_text_lines(&o, s, n, close)) == 0;
    PyObject *out = ok ? PyBytes_FromStringAndSize(o.buf, o.len) : Py_NewRef(Py_None);
    jx_finish(&o);
    return out;
}

static PyObject *
text_row(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyUnicode_Check(args[0]) || !PyBytes_Check(args[1]) || !PyLong_Check(args[2])
            || !PyBytes_Check(args[3]) || !PyBytes_Check(args[4]) || !PyBytes_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError, "text_row(text: str, payload: bytes, limit: int, open, close, indent: bytes)");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[2]);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    return jx_row(args[0], args[1], limit, args[3], args[4], args[5]);
}

/* Whether Message *m* is a plain text message under the head (ts, conn, direction) that follow shows with
 * text_row: opcode 1, valid text of at most *limit* characters, one fragment, complete, not compressed, and no
 * application units when *units*. */
static int
jx_plain_message(PyObject *m, PyObject *head, int units, Py_ssize_t limit)
{
    PyObject *ts = SLOT(m, M_LAST_TS), *conn = SLOT(m, M_CONN), *dir = SLOT(m, M_DIRECTION), *op = SLOT(m, M_OPCODE),
        *text = SLOT(m, M_TEXT), *frags = SLOT(m, M_FRAGMENTS), *app = SLOT(m, M_APP), *payload = SLOT(m, M_PAYLOAD);
    if (ts == NULL || !PyFloat_CheckExact(ts) || !PyFloat_CheckExact(PyTuple_GET_ITEM(head, 0))
            || PyFloat_AS_DOUBLE(ts) != PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(head, 0))
            || conn != PyTuple_GET_ITEM(head, 1) || dir == NULL || op == NULL || !PyLong_CheckExact(op)
            || text == NULL || !PyUnicode_CheckExact(text) || PyUnicode_GET_LENGTH(text) > limit
            || payload == NULL || !PyBytes_CheckExact(payload) || frags == NULL || !PyLong_CheckExact(frags)
            || SLOT(m, M_COMPLETE) != Py_True || SLOT(m, M_COMPRESSED) != Py_False || app == NULL)
        return 0;
    int plain = PyLong_AsLong(op) == 1 && PyLong_AsLong(frags) <= 1 && !(units && PyObject_IsTrue(app) != 0)
        && (dir == PyTuple_GET_ITEM(head, 2) || PyObject_RichCompareBool(dir, PyTuple_GET_ITEM(head, 2), Py_EQ) > 0);
    if (PyErr_Occurred()) {  /* (an odd value: the Python path looks at it again) */
        PyErr_Clear();
        return 0;
    }
    return plain;
}

/* text_rows(events, start, head, rules, frame, batch) -> index: the rows of the plain text messages from
 * events[start] on (see jx_plain_message; head: (ts, conn, direction), rules: (units, limit), frame: (open, close,
 * indent)) appended to *batch*; the index of the first event left to the Python path. */
static PyObject *
text_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyList_Check(args[0]) || !PyTuple_Check(args[2]) || PyTuple_GET_SIZE(args[2]) != 3
            || !PyTuple_Check(args[3]) || PyTuple_GET_SIZE(args[3]) != 2 || !PyTuple_Check(args[4])
            || PyTuple_GET_SIZE(args[4]) != 3 || !PyList_Check(args[5]) || message_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "text_rows(events: list, start, head, rules, frame: tuples, batch: list) "
                        "after configure()");
        return NULL;
    }
    PyObject *frame = args[4], *evs = args[0];
    Py_ssize_t i = PyLong_AsSsize_t(args[1]), limit = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[3], 1));
    int units = PyObject_IsTrue(PyTuple_GET_ITEM(args[3], 0));
    if ((i == -1 || limit == -1 || units < 0) && PyErr_Occurred())
        return NULL;
    for (PyObject *row = NULL; i >= 0 && i < PyList_GET_SIZE(evs); i++, Py_DECREF(row)) {
        PyObject *m = PyList_GET_ITEM(evs, i);
        if (Py_TYPE(m) != message_type || !jx_plain_message(m, args[2], units, limit))
            break;
        PyObject *text = SLOT(m, M_TEXT);
        row = jx_row(text, SLOT(m, M_PAYLOAD), PyUnicode_GET_LENGTH(text) * 8 + 64, PyTuple_GET_ITEM(frame, 0),
                     PyTuple_GET_ITEM(frame, 1), PyTuple_GET_ITEM(frame, 2));
        if (row == NULL || (row != Py_None && PyList_Append(args[5], row) < 0)) {
            Py_XDECREF(row);
            return NULL;
        }
        if (row == Py_None) {
            Py_DECREF(row);
            break;
        }
    }
    return PyLong_FromSsize_t(i);
}
