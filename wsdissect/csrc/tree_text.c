/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: show -V detail-tree text: tree_head,
 * tree_frame, tree_leaves (render/tree.py, ws_tree.py, nodes.py). */

/* ---- treec: show -V detail-tree text (twins: tree.packet_head, nodes.Pen.leaves_text, ws_tree._frame_text) ---- */

/* The Packet attributes tree_head reads, by name (Packet is whatever class the dissector emits). */
enum {
    TH_FRAME, TH_TS, TH_WIRE, TH_CAP, TH_LINKTYPE, TH_DATA, TH_IPV, TH_SRC, TH_DST, TH_SPORT, TH_DPORT, TH_SEQ, TH_ACK,
    TH_FLAGS, TH_WINDOW, TH_PAYLOAD_LEN, TH_CONN, TH_REL_SEQ, TH_REL_ACK, TH_INDEX, TH_N
};
static const char *th_names[TH_N] = {
    "frame", "ts", "wire_len", "cap_len", "linktype", "data", "ip_version", "src", "dst", "sport", "dport", "seq",
    "ack", "flags", "window", "payload_len", "conn", "rel_seq", "rel_ack", "index",
};
static PyObject *th_attr[TH_N];
/* The WsFrame attributes tree_frame reads. */
enum {
    TF_FIN, TF_MASKED, TF_MASK_KEY, TF_RSV, TF_OPCODE, TF_LENGTH_CODE, TF_PAYLOAD_LEN, TF_COMPLETE, TF_APP,
    TF_FRAGMENTS, TF_COMPRESSED, TF_TEXT, TF_N
};  /* (and of its Message: complete, app, opcode, fragments, compressed, text) */
static const char *tf_names[TF_N] = {"fin", "masked", "mask_key", "rsv", "opcode", "length_code", "payload_len",
                                     "complete", "app", "fragments", "compressed", "text"};
static PyObject *tf_attr[TF_N];
static PyObject *th_flag_names;  /* ((bit, name), ...): render.packets.tcp_flags's table */
#define TH_CAP_BYTES 4096        /* the head's text at most (longer: the Python path draws it) */
#define TH_MARKS 64              /* guides in a TreeBuf at most */
enum { TH_FORK = 1, TH_END, TH_SPACE };  /* the guides a TreeBuf marks (0: a top-level line) */

static PyObject *
tree_configure(PyObject *self, PyObject *flag_names)
{
    if (!PyTuple_Check(flag_names) || PyTuple_GET_SIZE(flag_names) > 16) {
        PyErr_SetString(PyExc_TypeError, "tree_configure(flag_names): a tuple of (bit, name) pairs");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(flag_names); i++) {
        PyObject *pair = PyTuple_GET_ITEM(flag_names, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyLong_Check(PyTuple_GET_ITEM(pair, 0))
            || !PyUnicode_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "tree_configure(flag_names): a tuple of (bit, name) pairs");
            return NULL;
        }
    }
    for (int i = 0; i < TH_N; i++)
        if (th_attr[i] == NULL && (th_attr[i] = PyUnicode_InternFromString(th_names[i])) == NULL)
            return NULL;
    for (int i = 0; i < TF_N; i++)
        if (tf_attr[i] == NULL && (tf_attr[i] = PyUnicode_InternFromString(tf_names[i])) == NULL)
            return NULL;
    Py_INCREF(flag_names);
    Py_XSETREF(th_flag_names, flag_names);
    Py_RETURN_NONE;
}

/* ASCII text and where the guides go in it (each mark: position * 4 + guide), with the longest top-level and
   guided lines written; *full* when something did not fit in it. */
typedef struct {
    char buf[TH_CAP_BYTES];
    Py_ssize_t n, line_start, top, inner;
    Py_ssize_t marks[TH_MARKS];
    int nmarks, guided, full;
} TreeBuf;

static void
tb_raw(TreeBuf *b, const char *s, Py_ssize_t len)
{
    if (b->full || b->n + len > TH_CAP_BYTES) {
        b->full = 1;
        return;
    }
    memcpy(b->buf + b->n, s, len);
    b->n += len;
}

#define TB_LIT(b, s) tb_raw((b), (s), (Py_ssize_t)sizeof(s) - 1)

static void
tb_int(TreeBuf *b, long long v)
{
    char tmp[24];
    tb_raw(b, tmp, put_int(tmp, v) - tmp);
}

/* A guide goes here. */
static void
tb_mark(TreeBuf *b, int guide)
{
    if (b->nmarks == TH_MARKS)
        b->full = 1;
    else
        b->marks[b->nmarks++] = b->n * 4 + guide;
}

/* A line begins: *guide* is TH_FORK, TH_END or 0 (a top-level line). */
static void
tb_begin(TreeBuf *b, int guide)
{
    if (guide)
        tb_mark(b, guide);
    b->guided = guide != 0;
    b->line_start = b->n;
}

/* The line ends (its length counts towards the longest of its kind). */
static void
tb_end(TreeBuf *b)
{
    Py_ssize_t len = b->n - b->line_start, *longest = b->guided ? &b->inner : &b->top;
    if (len > *longest)
        *longest = len;
    TB_LIT(b, "\n");
}

/* One line: *label*, *v* in decimal, *tail* (a fork, an end or a top-level line by *guide*). */
static void
tb_num_line(TreeBuf *b, int guide, const char *label, long long v, const char *tail)
{
    tb_begin(b, guide);
    tb_raw(b, label, (Py_ssize_t)strlen(label));
    tb_int(b, v);
    tb_raw(b, tail, (Py_ssize_t)strlen(tail));
    tb_end(b);
}

/* Seconds as render.tree.seconds spells them: six decimals then 000; 0 when the text is not put_seconds6's. */
static int
tb_seconds(TreeBuf *b, double x)
{
    char tmp[48];
    char *end = put_seconds6(tmp, x);
    if (end == NULL)
        return 0;
    tb_raw(b, tmp, end - tmp);
    TB_LIT(b, "000 seconds");
    return 1;
}

/* An ASCII str as is; 0 for any other object. */
static int
tb_ascii(TreeBuf *b, PyObject *s)
{
    if (!PyUnicode_Check(s) || !PyUnicode_IS_ASCII(s) || PyUnicode_GET_LENGTH(s) > 256)
        return 0;
    tb_raw(b, (const char *)PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s));
    return 1;
}

static void
tb_mac(TreeBuf *b, const unsigned char *m)
{
    static const char hex[] = "0123456789abcdef";
    char out[17];
    for (int i = 0; i < 6; i++) {
        out[i * 3] = hex[m[i] >> 4];
        out[i * 3 + 1] = hex[m[i] & 15];
        if (i < 5)
            out[i * 3 + 2] = ':';
    }
    tb_raw(b, out, 17);
}

/* *n* ASCII characters into *odata* (of kind *okind*) at *o*. */
static void
tb_put_ascii(int okind, void *odata, Py_ssize_t o, const char *src, Py_ssize_t n)
{
    if (okind == PyUnicode_1BYTE_KIND) {
        memcpy((Py_UCS1 *)odata + o, src, (size_t)n);
    } else if (okind == PyUnicode_2BYTE_KIND) {
        Py_UCS2 *to = (Py_UCS2 *)odata + o;
        for (Py_ssize_t i = 0; i < n; i++)
            to[i] = (unsigned char)src[i];
    } else {
        Py_UCS4 *to = (Py_UCS4 *)odata + o;
        for (Py_ssize_t i = 0; i < n; i++)
            to[i] = (unsigned char)src[i];
    }
}

static void tl_put(int okind, void *odata, Py_ssize_t o, PyObject *s, Py_ssize_t start, Py_ssize_t n);

/* The text of *b* with its guides: guides[0] (fork), [1] (end) and [2] (space), str. */
static PyObject *
tb_finish(TreeBuf *b, PyObject *const *guides)
{
    Py_ssize_t total = b->n;
    Py_UCS4 maxchar = 127;
    for (int m = 0; m < b->nmarks; m++) {
        PyObject *g = guides[(b->marks[m] & 3) - 1];
        total += PyUnicode_GET_LENGTH(g);
        if (PyUnicode_MAX_CHAR_VALUE(g) > maxchar)
            maxchar = PyUnicode_MAX_CHAR_VALUE(g);
    }
    PyObject *out = PyUnicode_New(total, maxchar);
    if (out == NULL)
        return NULL;
    int kind = PyUnicode_KIND(out);
    void *data = PyUnicode_DATA(out);
    Py_ssize_t o = 0, run = 0;  /* run: where the ASCII not copied yet begins */
    for (int m = 0; m <= b->nmarks; m++) {
        Py_ssize_t at = m < b->nmarks ? b->marks[m] >> 2 : b->n;
        tb_put_ascii(kind, data, o, b->buf + run, at - run);
        o += at - run;
        run = at;
        if (m < b->nmarks) {
            PyObject *g = guides[(b->marks[m] & 3) - 1];
            tl_put(kind, data, o, g, 0, PyUnicode_GET_LENGTH(g));
            o += PyUnicode_GET_LENGTH(g);
        }
    }
    return out;
}

/* The numbers tree_head formats, read from the packet (0: one is missing, too large or of another type). */
typedef struct {
    long long frame, wire, cap, linktype, ipv, sport, dport, seq, ack, flags, window, plen, index, rseq, rack;
    double ts;
    int has_index;
} HeadNums;

static int
th_int(PyObject *p, PyObject *name, long long *out)
{
    PyObject *v = PyObject_GetAttr(p, name);
    if (v == NULL) {
        PyErr_Clear();
        return 0;
    }
    int ok = exact_ll(v, out) && *out > -(1LL << 58) && *out < (1LL << 58);
    Py_DECREF(v);
    return ok;
}

/* An int attribute that may be None: *out* keeps *fallback* then. */
static int
th_opt_int(PyObject *p, int name, long long fallback, long long *out)
{
    PyObject *v = PyObject_GetAttr(p, th_attr[name]);
    if (v == NULL) {
        PyErr_Clear();
        return 0;
    }
    int none = v == Py_None;
    Py_DECREF(v);
    if (none) {
        *out = fallback;
        return 1;
    }
    return th_int(p, th_attr[name], out);
}

static int
th_read(PyObject *p, HeadNums *h)
{
    static const int names[] = {TH_FRAME, TH_WIRE, TH_CAP, TH_LINKTYPE, TH_IPV, TH_SPORT, TH_DPORT, TH_SEQ, TH_ACK,
                                TH_FLAGS, TH_WINDOW, TH_PAYLOAD_LEN};
    long long *outs[] = {&h->frame, &h->wire, &h->cap, &h->linktype, &h->ipv, &h->sport, &h->dport, &h->seq,
                         &h->ack, &h->flags, &h->window, &h->plen};
    for (int i = 0; i < 12; i++)
        if (!th_int(p, th_attr[names[i]], outs[i]))
            return 0;
    if (!th_opt_int(p, TH_REL_SEQ, h->seq, &h->rseq) || !th_opt_int(p, TH_REL_ACK, h->ack, &h->rack))
        return 0;
    PyObject *conn = PyObject_GetAttr(p, th_attr[TH_CONN]);
    if (conn == NULL) {
        PyErr_Clear();
        return 0;
    }
    h->has_index = conn != Py_None;
    int ok = !h->has_index || th_int(conn, th_attr[TH_INDEX], &h->index);
    Py_DECREF(conn);
    PyObject *ts = ok ? PyObject_GetAttr(p, th_attr[TH_TS]) : NULL;
    if (ts == NULL) {
        PyErr_Clear();
        return 0;
    }
    ok = PyFloat_CheckExact(ts);
    h->ts = ok ? PyFloat_AS_DOUBLE(ts) : 0.0;
    Py_DECREF(ts);
    return ok && h->flags >= 0 && h->flags < 4096;  /* (0x{:03x}: three digits) */
}

/* "N bytes<what> (8N bits)" */
static void
tb_size(TreeBuf *b, long long n, const char *what)
{
    tb_int(b, n);
    TB_LIT(b, " bytes");
    tb_raw(b, what, (Py_ssize_t)strlen(what));
    TB_LIT(b, " (");
    tb_int(b, n * 8);
    TB_LIT(b, " bits)");
}

/* The Frame node: its line and its six lines. */
static int
th_frame(TreeBuf *b, const HeadNums *h, double delta, double t0)
{
    tb_begin(b, 0);
    TB_LIT(b, "Frame ");
    tb_int(b, h->frame);
    TB_LIT(b, ": ");
    tb_size(b, h->wire, " on wire");
    TB_LIT(b, ", ");
    tb_size(b, h->cap, " captured");
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Epoch Time: ");
    int ok = tb_seconds(b, h->ts);
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "[Time delta from previous captured frame: ");
    ok &= tb_seconds(b, delta);
    TB_LIT(b, "]");
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "[Time since reference or first frame: ");
    ok &= tb_seconds(b, h->ts - t0);
    TB_LIT(b, "]");
    tb_end(b);
    tb_num_line(b, TH_FORK, "Frame Number: ", h->frame, "");
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Frame Length: ");
    tb_size(b, h->wire, "");
    tb_end(b);
    tb_begin(b, TH_END);
    TB_LIT(b, "Capture Length: ");
    tb_size(b, h->cap, "");
    tb_end(b);
    return ok;
}

/* The Ethernet and IP lines (top level). */
static int
th_link_ip(TreeBuf *b, PyObject *p, const HeadNums *h)
{
    PyObject *data = PyObject_GetAttr(p, th_attr[TH_DATA]);
    PyObject *src = data != NULL ? PyObject_GetAttr(p, th_attr[TH_SRC]) : NULL;
    PyObject *dst = src != NULL ? PyObject_GetAttr(p, th_attr[TH_DST]) : NULL;
    int ok = dst != NULL && PyBytes_CheckExact(data) && PyBytes_GET_SIZE(data) >= 12;
    if (ok) {
        const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
        tb_begin(b, 0);
        TB_LIT(b, "Ethernet II, Src: ");
        tb_mac(b, d + 6);
        TB_LIT(b, " (");
        tb_mac(b, d + 6);
        TB_LIT(b, "), Dst: ");
        tb_mac(b, d);
        TB_LIT(b, " (");
        tb_mac(b, d);
        TB_LIT(b, ")");
        tb_end(b);
        tb_begin(b, 0);
        TB_LIT(b, "Internet Protocol Version ");
        tb_int(b, h->ipv);
        TB_LIT(b, ", Src: ");
        ok = tb_ascii(b, src);
        TB_LIT(b, ", Dst: ");
        ok = ok && tb_ascii(b, dst);
        tb_end(b);
    }
    if (dst == NULL)
        PyErr_Clear();
    Py_XDECREF(data);
    Py_XDECREF(src);
    Py_XDECREF(dst);
    return ok;
}

/* The TCP node's line (top level). */
static void
th_tcp_line(TreeBuf *b, const HeadNums *h)
{
    tb_begin(b, 0);
    TB_LIT(b, "Transmission Control Protocol, Src Port: ");
    tb_int(b, h->sport);
    TB_LIT(b, ", Dst Port: ");
    tb_int(b, h->dport);
    TB_LIT(b, ", Seq: ");
    tb_int(b, h->rseq);
    if (h->flags & 16) {
        TB_LIT(b, ", Ack: ");
        tb_int(b, h->rack);
    }
    TB_LIT(b, ", Len: ");
    tb_int(b, h->plen);
    tb_end(b);
}

/* The TCP node's lines. */
static void
th_tcp_fields(TreeBuf *b, const HeadNums *h)
{
    tb_num_line(b, TH_FORK, "Source Port: ", h->sport, "");
    tb_num_line(b, TH_FORK, "Destination Port: ", h->dport, "");
    if (h->has_index)
        tb_num_line(b, TH_FORK, "[Stream index: ", h->index, "]");
    tb_num_line(b, TH_FORK, "[TCP Segment Len: ", h->plen, "]");
    tb_num_line(b, TH_FORK, "Sequence Number: ", h->rseq, "    (relative sequence number)");
    tb_num_line(b, TH_FORK, "Sequence Number (raw): ", h->seq, "");
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Acknowledgment Number: ");
    tb_int(b, h->flags & 16 ? h->rack : h->ack);
    if (h->flags & 16)
        TB_LIT(b, "    (relative ack number)");
    tb_end(b);
    tb_num_line(b, TH_FORK, "Acknowledgment number (raw): ", h->ack, "");
}

/* The Flags and Window lines, the last of the TCP node; 0 when a flag's name is not plain ASCII (or an error). */
static int
th_tcp_tail(TreeBuf *b, const HeadNums *h)
{
    static const char hex[] = "0123456789abcdef";
    char code[5] = {'0', 'x', hex[(h->flags >> 8) & 15], hex[(h->flags >> 4) & 15], hex[h->flags & 15]};
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Flags: ");
    tb_raw(b, code, 5);
    TB_LIT(b, " (");
    int ok = 1, first = 1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(th_flag_names); i++) {
        PyObject *pair = PyTuple_GET_ITEM(th_flag_names, i);
        long bit = PyLong_AsLong(PyTuple_GET_ITEM(pair, 0));
        if (bit == -1 && PyErr_Occurred())
            return 0;
        if (!(h->flags & bit))
            continue;
        if (!first)
            TB_LIT(b, ", ");
        first = 0;
        ok = ok && tb_ascii(b, PyTuple_GET_ITEM(pair, 1));
    }
    TB_LIT(b, ")");
    tb_end(b);
    tb_num_line(b, TH_END, "Window: ", h->window, "");
    return ok;
}

/* tree_head(p, prev, t0, fork, end, width): packet_head's text, or None where the Python twin must draw it. */
static PyObject *
tree_head(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || th_flag_names == NULL || !PyUnicode_Check(args[3]) || !PyUnicode_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "tree_head(p, prev, t0, fork, end, width) after tree_configure");
        return NULL;
    }
    Py_ssize_t width = PyLong_AsSsize_t(args[5]);
    if (width == -1 && PyErr_Occurred())
        return NULL;
    HeadNums h;
    if (!PyFloat_CheckExact(args[2]) || !(args[1] == Py_None || PyFloat_CheckExact(args[1])) || !th_read(args[0], &h)
        || h.linktype != 1)
        Py_RETURN_NONE;
    double delta = args[1] == Py_None ? 0.0 : h.ts - PyFloat_AS_DOUBLE(args[1]);
    TreeBuf buf, *b = &buf;
    b->n = b->top = b->inner = b->nmarks = b->full = 0;
    Py_ssize_t step = PyUnicode_GET_LENGTH(args[3]);
    int ok = th_frame(b, &h, delta, PyFloat_AS_DOUBLE(args[2])) && th_link_ip(b, args[0], &h);
    th_tcp_line(b, &h);
    th_tcp_fields(b, &h);
    ok = ok && th_tcp_tail(b, &h);
    PyObject *out = NULL;
    /* the top lines against the width, the others (their guide not counted) against width - step */
    if (ok && !b->full && b->top <= width && b->inner <= width - step && width - step > 0)
        out = tb_finish(b, args + 3);  /* (no space guide in it) */
    else if (ok || !PyErr_Occurred())
        out = Py_NewRef(Py_None);
    return out;
}

#define TL_LINES 1024  /* lines drawn by tl_draw at most (more: the Python twin draws them) */

/* The first *limit* lines of *text*: where each ends in ends[] (the index of its newline, or the length), how many
   and their widest character; 0 when one of them is not printable or may not fit *room* cells (Pen.fits decides
   then: a line fits when twice its length does, or when it is ASCII and its length does). */
static int
tl_measure(PyObject *text, Py_ssize_t room, Py_ssize_t limit, Py_ssize_t *ends, Py_ssize_t *lines,
           Py_UCS4 *maxchar)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), start = 0;
    Py_UCS4 widest = 0, line_widest = 0;
    *lines = 0;
    if (room < 1 || limit < 1 || limit > TL_LINES)
        return 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        Py_UCS4 c = i == n ? '\n' : kind == PyUnicode_1BYTE_KIND ? ((const Py_UCS1 *)data)[i]
                                                                 : PyUnicode_READ(kind, data, i);
        if (c == '\n') {
            Py_ssize_t len = i - start;
            if (len + len > room && (line_widest > 0x7F || len > room))
                return 0;
            ends[(*lines)++] = i;
            if (*lines == limit)
                break;
            start = i + 1;
            line_widest = 0;
            continue;
        }
        if (c > line_widest) {
            line_widest = c;
            if (c > widest)
                widest = c;
        }
        if (c < 0x20 || (c >= 0x7F && !Py_UNICODE_ISPRINTABLE(c)))
            return 0;
    }
    *maxchar = widest;
    return 1;
}

/* Characters [start, start + n) of *s* into *odata* (of kind *okind*, wide enough) at *o*. */
static void
tl_put(int okind, void *odata, Py_ssize_t o, PyObject *s, Py_ssize_t start, Py_ssize_t n)
{
    int k = PyUnicode_KIND(s);
    const void *d = PyUnicode_DATA(s);
    if (k == okind) {
        memcpy((char *)odata + o * k, (const char *)d + start * k, (size_t)(n * k));
    } else if (k == PyUnicode_1BYTE_KIND && okind == PyUnicode_2BYTE_KIND) {
        Py_UCS2 *to = (Py_UCS2 *)odata + o;
        const Py_UCS1 *from = (const Py_UCS1 *)d + start;
        for (Py_ssize_t i = 0; i < n; i++)
            to[i] = from[i];
    } else {
        for (Py_ssize_t i = 0; i < n; i++)
            PyUnicode_WRITE(okind, odata, o + i, PyUnicode_READ(k, d, start + i));
    }
}

/* The first *limit* lines of *text* (str), each after *reps* times *indent* then *fork* (the last: *end*), with its
   newline; None when tl_measure says Python must decide. */
static PyObject *
tl_draw(PyObject *text, PyObject *indent, int reps, PyObject *fork, PyObject *end, Py_ssize_t room, Py_ssize_t limit)
{
    Py_ssize_t ends[TL_LINES], lines;
    Py_UCS4 maxchar = 0;  /* of the characters written: a str is made in its narrowest kind */
    if (!tl_measure(text, room, limit, ends, &lines, &maxchar))
        Py_RETURN_NONE;
    Py_ssize_t li = reps ? PyUnicode_GET_LENGTH(indent) : 0, lf = PyUnicode_GET_LENGTH(fork);
    PyObject *pieces[3] = {reps ? indent : NULL, lines > 1 ? fork : NULL, end};
    for (int i = 0; i < 3; i++)
        if (pieces[i] != NULL && PyUnicode_MAX_CHAR_VALUE(pieces[i]) > maxchar)
            maxchar = PyUnicode_MAX_CHAR_VALUE(pieces[i]);
    /* every kept line gets its guide and a newline: ends[-1] - (lines - 1) characters of text, lines newlines */
    PyObject *out = PyUnicode_New(ends[lines - 1] + 1 + lines * li * reps + (lines - 1) * lf
                                  + PyUnicode_GET_LENGTH(end), maxchar);
    if (out == NULL)
        return NULL;
    int okind = PyUnicode_KIND(out);
    void *odata = PyUnicode_DATA(out);
    Py_ssize_t o = 0, start = 0;
    for (Py_ssize_t k = 0; k < lines; k++) {
        PyObject *guide = k + 1 < lines ? fork : end;
        for (int r = 0; r < reps; r++, o += li)
            tl_put(okind, odata, o, indent, 0, li);
        tl_put(okind, odata, o, guide, 0, PyUnicode_GET_LENGTH(guide));
        o += PyUnicode_GET_LENGTH(guide);
        tl_put(okind, odata, o, text, start, ends[k] - start);
        o += ends[k] - start;
        PyUnicode_WRITE(okind, odata, o++, '\n');
        start = ends[k] + 1;
    }
    return out;
}

/* tree_leaves(text, fork, end, room, limit): Pen.leaves_text's drawing, or None where Python must decide. */
static PyObject *
tree_leaves(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "tree_leaves(text, fork, end, room, limit)");
        return NULL;
    }
    Py_ssize_t room = PyLong_AsSsize_t(args[3]), limit = PyLong_AsSsize_t(args[4]);
    if ((room == -1 || limit == -1) && PyErr_Occurred())
        return NULL;
    return tl_draw(args[0], NULL, 0, args[1], args[2], room, limit);
}

/* The header fields of a WebSocket frame that tree_frame draws from. */
typedef struct {
    long long rsv, opcode, lc, plen;
    int fin, masked;
    PyObject *mask_key;  /* a new reference: None or bytes */
} FrameFields;

/* 1: *h* read from frame *f*; 0: an attribute is missing or unusual (no exception left set). */
static int
tf_read(PyObject *f, FrameFields *h)
{
    long long *ints[] = {&h->rsv, &h->opcode, &h->lc, &h->plen};
    int *bools[] = {&h->fin, &h->masked};
    h->mask_key = NULL;
    for (int i = 0; i < 4; i++)
        if (!th_int(f, tf_attr[TF_RSV + i], ints[i]))
            return 0;
    for (int i = 0; i < 2; i++) {
        PyObject *v = PyObject_GetAttr(f, tf_attr[TF_FIN + i]);
        if (v == NULL || (v != Py_True && v != Py_False)) {
            Py_XDECREF(v);
            PyErr_Clear();
            return 0;
        }
        *bools[i] = v == Py_True;
        Py_DECREF(v);
    }
    h->mask_key = PyObject_GetAttr(f, tf_attr[TF_MASK_KEY]);
    if (h->mask_key == NULL)
        PyErr_Clear();
    return h->mask_key != NULL && (h->mask_key == Py_None || (PyBytes_CheckExact(h->mask_key)
                                                              && PyBytes_GET_SIZE(h->mask_key) <= 64))
           && h->rsv >= 0 && h->rsv < 8 && h->opcode >= 0 && h->opcode < 16 && h->lc >= 0 && h->lc < 128
           && h->plen > 0;
}

/* The lines between the header's bit fields and the JSON: extended length, masking key, Masked payload (each
   checked against *room1*), then Payload and Text (JSON): (its label against *room2*); 0 when one may not fit. */
static int
tf_middle(TreeBuf *b, const FrameFields *h, Py_ssize_t room1, Py_ssize_t room2)
{
    if (h->lc >= 126) {
        tb_begin(b, TH_FORK);
        if (h->lc == 126)
            TB_LIT(b, "Extended Payload length (16 bits): ");
        else
            TB_LIT(b, "Extended Payload length (64 bits): ");
        tb_int(b, h->plen);
        tb_end(b);
    }
    if (h->masked && h->mask_key != Py_None) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *k = (const unsigned char *)PyBytes_AS_STRING(h->mask_key);
        tb_begin(b, TH_FORK);
        TB_LIT(b, "Masking-Key: ");
        for (Py_ssize_t i = 0; i < PyBytes_GET_SIZE(h->mask_key); i++) {
            char two[2] = {hex[k[i] >> 4], hex[k[i] & 15]};
            tb_raw(b, two, 2);
        }
        tb_end(b);
    }
    if (h->masked) {
        tb_begin(b, TH_FORK);
        TB_LIT(b, "Masked payload");
        tb_end(b);
    }
    if (b->nmarks && (room1 < 1 || b->inner > room1))
        return 0;
    tb_begin(b, TH_END);
    TB_LIT(b, "Payload");
    tb_end(b);
    tb_mark(b, TH_SPACE);
    tb_begin(b, TH_END);
    TB_LIT(b, "Text (JSON):");
    tb_end(b);
    return !b->full && room2 >= (Py_ssize_t)sizeof("Text (JSON):") - 1;
}

/* 1 when attribute *name* of *obj* is *want* (None, True or False); 0 otherwise (no exception left set). */
static int
tf_is(PyObject *obj, int name, PyObject *want)
{
    PyObject *v = PyObject_GetAttr(obj, tf_attr[name]);
    if (v == NULL)
        PyErr_Clear();
    Py_XDECREF(v);
    return v == want;
}

/* 1 when message *msg* is one complete, uncompressed text frame without application units and pretty_fn(msg.text)
   gives JSON of at most *max_text* characters: *pretty* is then that text (a new reference); 0 when it is not
   (the Python draws it); -1 on an error. */
static int
tf_pretty(PyObject *msg, PyObject *pretty_fn, Py_ssize_t max_text, PyObject **pretty)
{
    long long opcode, fragments;
    *pretty = NULL;
    if (!tf_is(msg, TF_COMPLETE, Py_True) || !tf_is(msg, TF_COMPRESSED, Py_False) || !tf_is(msg, TF_APP, Py_None)
        || !th_int(msg, tf_attr[TF_OPCODE], &opcode) || opcode != 1
        || !th_int(msg, tf_attr[TF_FRAGMENTS], &fragments) || fragments != 1)
        return 0;
    PyObject *text = PyObject_GetAttr(msg, tf_attr[TF_TEXT]);
    if (text == NULL || !PyUnicode_Check(text)) {
        PyErr_Clear();
        Py_XDECREF(text);
        return 0;
    }
    PyObject *res = PyObject_CallOneArg(pretty_fn, text);
    Py_DECREF(text);
    if (res == NULL)
        return -1;
    int ok = PyTuple_Check(res) && PyTuple_GET_SIZE(res) == 2 && PyTuple_GET_ITEM(res, 1) == Py_True
             && PyUnicode_Check(PyTuple_GET_ITEM(res, 0)) && PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(res, 0)) <= max_text;
    if (ok)
        *pretty = Py_NewRef(PyTuple_GET_ITEM(res, 0));
    Py_DECREF(res);
    return ok;
}

/* The frame's lines after its header's (*head*): (head, middle, JSON lines), or None where one may not fit. */
static PyObject *
tf_draw(const FrameFields *h, PyObject *head, PyObject *pretty, PyObject *guides, Py_ssize_t width, Py_ssize_t limit)
{
    PyObject *space = PyTuple_GET_ITEM(guides, 0), *fork = PyTuple_GET_ITEM(guides, 2);
    PyObject *end = PyTuple_GET_ITEM(guides, 3);
    Py_ssize_t step = PyUnicode_GET_LENGTH(fork);
    TreeBuf buf;
    buf.n = buf.top = buf.inner = buf.nmarks = buf.full = 0;
    if (!tf_middle(&buf, h, width - step, width - 2 * step))
        Py_RETURN_NONE;
    PyObject *marks[3] = {fork, end, space}, *out = NULL;
    PyObject *middle = tb_finish(&buf, marks);
    PyObject *under = middle != NULL ? tl_draw(pretty, space, 2, fork, end, width - 3 * step, limit) : NULL;
    if (under != NULL)
        out = under == Py_None ? Py_NewRef(Py_None) : PyTuple_Pack(3, head, middle, under);
    Py_XDECREF(middle);
    Py_XDECREF(under);
    return out;
}

/* tree_frame(f, msg, pretty_fn, memo, deflate, guides, width, lines, max_text): what ws_tree.ws_text appends for a
   data frame that is a whole message shown as pretty JSON (ws_tree._frame_text is the twin), as a tuple of str;
   None where Python must draw it. */
static PyObject *
tree_frame(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9 || !PyDict_Check(args[3]) || !PyTuple_Check(args[5]) || PyTuple_GET_SIZE(args[5]) != 4
        || tf_attr[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "tree_frame(f, msg, pretty_fn, memo, deflate, guides, width, lines, "
                                         "max_text) after tree_configure");
        return NULL;
    }
    Py_ssize_t width = PyLong_AsSsize_t(args[6]), limit = PyLong_AsSsize_t(args[7]);
    Py_ssize_t max_text = PyLong_AsSsize_t(args[8]);
    int deflate = PyObject_IsTrue(args[4]);
    if (((width == -1 || limit == -1 || max_text == -1) && PyErr_Occurred()) || deflate < 0)
        return NULL;
    for (int i = 0; i < 4; i++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(args[5], i)))
            Py_RETURN_NONE;
    FrameFields h;
    PyObject *out = NULL, *head = NULL, *pretty = NULL;
    if (tf_read(args[0], &h) && h.opcode < 8 && tf_is(args[0], TF_COMPLETE, Py_True)) {
        long b0 = (h.fin ? 0x80 : 0) | (long)(h.rsv << 4) | (long)h.opcode, b1 = (h.masked ? 0x80 : 0) | (long)h.lc;
        PyObject *key = PyLong_FromLong(b0 << 9 | b1 << 1 | deflate);  /* ws_tree._drawn_header's key */
        head = key != NULL ? PyDict_GetItemWithError(args[3], key) : NULL;
        Py_XINCREF(head);  /* (held while pretty_fn runs Python) */
        Py_XDECREF(key);
    }
    int drawn = head != NULL && PyUnicode_Check(head) && PyUnicode_GET_LENGTH(head) > 0;
    if (drawn && tf_pretty(args[1], args[2], max_text, &pretty) > 0)
        out = tf_draw(&h, head, pretty, args[5], width, limit);
    else if (!PyErr_Occurred())
        out = Py_NewRef(Py_None);
    Py_XDECREF(head);
    Py_XDECREF(pretty);
    Py_XDECREF(h.mask_key);
    return out;
}
