/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: the packet list line of a common packet:
 * list_configure, list_line (render/packets.py). */

/* ---- listc: the packet list line of a common packet (render/packets.py, PacketListView.lists) ---------------- */

/* list_line(events, t0, width, styles) -> str or None.  events[0] is a plain TCP Packet and the rest are WsFrame
 * and Message events (or events the Info column ignores); the line is what PacketListView.group writes for it with
 * the relative Time column: No., Time, Source, Destination, Protocol, Length, Info (the frames' texts, or tshark's
 * TCP text), cut to *width* with an ellipsis, in the protocol's style codes (styles: TCP on/off, WebSocket on/off),
 * with its newline.  Anything else (findings, HTTP, TLS, application units, tunnels, packets that are not TCP, text
 * that is not printable ASCII, Info over 400 characters) returns None: the Python path renders it. */
enum {
    LP_FRAME, LP_TS, LP_WIRE_LEN, LP_SRC, LP_DST, LP_SPORT, LP_DPORT, LP_SEQ, LP_ACK, LP_FLAGS, LP_WINDOW,
    LP_PAYLOAD_LEN, LP_REL_SEQ, LP_REL_ACK, LP_ANALYSIS, LP_WINDOW_SIZE, LP_LAYERS, LP_PROTOCOL, LP_NFIELDS
};
static const char *lp_names[LP_NFIELDS] = {
    "frame", "ts", "wire_len", "src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "payload_len",
    "rel_seq", "rel_ack", "analysis", "window_size", "layers", "protocol",
};
static Py_ssize_t lp_offsets[LP_NFIELDS];
static const char *lf_names[3] = {"opcode", "fin", "masked"};
static Py_ssize_t lf_offsets[3];
static const char *lm_names[1] = {"app"};
static Py_ssize_t lm_offsets[1];
static PyTypeObject *lc_packet, *lc_frame, *lc_message;
static PyObject *lc_refused;  /* the classes of the events only the Python path renders (findings, HTTP, TLS) */
static char lc_infos[64][80];  /* FRAME_INFOS[opcode][fin][masked] at opcode << 2 | fin << 1 | masked */
static unsigned char lc_info_len[64];
static long long lc_flag_bits[16];
static char lc_flag_names[16][16];
static unsigned char lc_flag_len[16];
static int lc_nflags;

#define LP(obj, i) (*(PyObject **)((char *)(obj) + lp_offsets[i]))
#define LC_ARROW '\x01'  /* "→" while a line is built */
#define LC_ELLIPSIS '\x02'  /* "…" */
#define LC_INFO_MAX 400  /* longer Info texts are cut by render.text.safe: the Python path */
#define LC_TEXT_MAX 64  /* addresses, analysis labels and style codes: longer ones go the Python path */

/* The characters of *s* when it is an exact str of printable ASCII (or any ASCII when *codes*) of at most *max*
 * characters, else NULL. */
static const char *
lc_ascii(PyObject *s, Py_ssize_t max, int codes, Py_ssize_t *len)
{
    if (!PyUnicode_CheckExact(s) || !PyUnicode_IS_ASCII(s) || PyUnicode_GET_LENGTH(s) > max)
        return NULL;
    const char *c = (const char *)PyUnicode_DATA(s);
    *len = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t i = 0; !codes && i < *len; i++)
        if (c[i] < 0x20 || c[i] == 0x7f)
            return NULL;
    return c;
}

/* Copy FRAME_INFOS (16 x 2 x 2 strings) and TCP_FLAG_NAMES ((bit, name) pairs); 0 done, -1 with an exception. */
static int
lc_tables(PyObject *infos, PyObject *flags)
{
    for (int i = 0; i < 64; i++) {
        PyObject *t = infos;
        Py_ssize_t len, at[3] = {i >> 2, (i >> 1) & 1, i & 1}, size[3] = {16, 2, 2};
        const char *c = NULL;
        for (int d = 0; d < 3 && t != NULL; d++)
            t = PyTuple_Check(t) && PyTuple_GET_SIZE(t) == size[d] ? PyTuple_GET_ITEM(t, at[d]) : NULL;
        if (t == NULL || (c = lc_ascii(t, 79, 0, &len)) == NULL)
            goto bad;
        memcpy(lc_infos[i], c, len);
        lc_info_len[i] = (unsigned char)len;
    }
    if (!PyTuple_Check(flags) || PyTuple_GET_SIZE(flags) > 16)
        goto bad;
    lc_nflags = (int)PyTuple_GET_SIZE(flags);
    for (int i = 0; i < lc_nflags; i++) {
        PyObject *pair = PyTuple_GET_ITEM(flags, i);
        Py_ssize_t len;
        const char *c;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !exact_ll(PyTuple_GET_ITEM(pair, 0), &lc_flag_bits[i])
                || (c = lc_ascii(PyTuple_GET_ITEM(pair, 1), 15, 0, &len)) == NULL)
            goto bad;
        memcpy(lc_flag_names[i], c, len);
        lc_flag_len[i] = (unsigned char)len;
    }
    return 0;
bad:
    PyErr_Clear();
    PyErr_SetString(PyExc_TypeError, "list_configure: FRAME_INFOS or TCP_FLAG_NAMES has an unexpected shape");
    return -1;
}

/* list_configure(Packet, WsFrame, Message, refused, frame_infos, flag_names) */
static PyObject *
list_configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyTuple_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "list_configure(Packet, WsFrame, Message, refused: tuple, frame_infos, flag_names)");
        return NULL;
    }
    if (locate_slots(args[0], lp_names, LP_NFIELDS, lp_offsets) < 0 || locate_slots(args[1], lf_names, 3, lf_offsets) < 0
            || locate_slots(args[2], lm_names, 1, lm_offsets) < 0 || lc_tables(args[4], args[5]) < 0)
        return NULL;
    PyObject *types[4] = {args[0], args[1], args[2], args[3]};
    for (int i = 0; i < 4; i++)
        Py_INCREF(types[i]);
    Py_XSETREF(lc_packet, (PyTypeObject *)types[0]);
    Py_XSETREF(lc_frame, (PyTypeObject *)types[1]);
    Py_XSETREF(lc_message, (PyTypeObject *)types[2]);
    Py_XSETREF(lc_refused, types[3]);
    Py_RETURN_NONE;
}

/* The "[label] " prefix of each TCP analysis label into *wp; 0 when one is not printable ASCII (or too long). */
static int
lc_prefix(PyObject *analysis, const char *info, char **wp)
{
    char *w = *wp;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(analysis); i++) {
        Py_ssize_t len;
        const char *c = lc_ascii(PyTuple_GET_ITEM(analysis, i), LC_TEXT_MAX, 0, &len);
        if (c == NULL || (w - info) + len + 3 > LC_INFO_MAX)
            return 0;
        *w++ = '[';
        memcpy(w, c, len);
        w += len;
        *w++ = ']';
        *w++ = ' ';
    }
    *wp = w;
    return 1;
}

/* The frames' Info texts among events[1:], joined by ", ", into *wp: the number of frames, or -1 when an event
 * needs the Python path (a refused class, a message with application units, an odd slot value, Info too long). */
static int
lc_frames_info(PyObject *events, const char *info, char **wp)
{
    char *w = *wp;
    int frames = 0;
    for (Py_ssize_t i = 1; i < PyList_GET_SIZE(events); i++) {
        PyObject *ev = PyList_GET_ITEM(events, i);
        PyTypeObject *cls = Py_TYPE(ev);
        if (cls == lc_frame) {
            long long op;
            PyObject *fin = *(PyObject **)((char *)ev + lf_offsets[1]);
            PyObject *masked = *(PyObject **)((char *)ev + lf_offsets[2]);
            if (!exact_ll(*(PyObject **)((char *)ev + lf_offsets[0]), &op) || op < 0 || op > 15
                    || (fin != Py_True && fin != Py_False) || (masked != Py_True && masked != Py_False))
                return -1;
            int k = (int)op << 2 | (fin == Py_True) << 1 | (masked == Py_True);
            if ((w - info) + 2 + lc_info_len[k] > LC_INFO_MAX)
                return -1;
            if (frames++) {
                *w++ = ',';
                *w++ = ' ';
            }
            memcpy(w, lc_infos[k], lc_info_len[k]);
            w += lc_info_len[k];
        }
        else if (cls == lc_message) {
            if (*(PyObject **)((char *)ev + lm_offsets[0]) != Py_None)
                return -1;
        }
        else {
            for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(lc_refused); j++)
                if ((PyObject *)cls == PyTuple_GET_ITEM(lc_refused, j))
                    return -1;
        }
    }
    *wp = w;
    return frames;
}

/* tshark's TCP Info text (packets.tcp_info) into *wp; 0 when a field is not an ordinary int. */
static int
lc_tcp_info(PyObject *p, char **wp)
{
    long long sport, dport, seq, ack = 0, flags, win, len;
    PyObject *rel_seq = LP(p, LP_REL_SEQ), *rel_ack = LP(p, LP_REL_ACK), *scaled = LP(p, LP_WINDOW_SIZE);
    if (!exact_ll(LP(p, LP_SPORT), &sport) || !exact_ll(LP(p, LP_DPORT), &dport) || !exact_ll(LP(p, LP_FLAGS), &flags)
            || !exact_ll(rel_seq == Py_None ? LP(p, LP_SEQ) : rel_seq, &seq)
            || ((flags & 16) && !exact_ll(rel_ack != Py_None ? rel_ack : LP(p, LP_ACK), &ack))
            || !exact_ll(scaled == Py_None ? LP(p, LP_WINDOW) : scaled, &win) || !exact_ll(LP(p, LP_PAYLOAD_LEN), &len))
        return 0;
    char *w = put_int(*wp, sport);
    memcpy(w, " \x01 ", 3);
    w = put_int(w + 3, dport);
    *w++ = ' ';
    *w++ = '[';
    for (int i = 0, named = 0; i < lc_nflags; i++)
        if (flags & lc_flag_bits[i]) {
            if (named++) {
                *w++ = ',';
                *w++ = ' ';
            }
            memcpy(w, lc_flag_names[i], lc_flag_len[i]);
            w += lc_flag_len[i];
        }
    memcpy(w, "] Seq=", 6);
    w = put_int(w + 6, seq);
    if (flags & 16) {
        memcpy(w, " Ack=", 5);
        w = put_int(w + 5, ack);
    }
    memcpy(w, " Win=", 5);
    w = put_int(w + 5, win);
    memcpy(w, " Len=", 5);
    *wp = put_int(w + 5, len);
    return 1;
}

/* *s* (n characters) right-aligned in a column of *width* */
static char *
lc_right(char *w, const char *s, Py_ssize_t n, Py_ssize_t width)
{
    for (; n < width; width--)
        *w++ = ' ';
    memcpy(w, s, n);
    return w + n;
}

/* *s* left-aligned in a column of *width* */
static char *
lc_left(char *w, const char *s, Py_ssize_t n, Py_ssize_t width)
{
    memcpy(w, s, n);
    w += n;
    for (; n < width; n++)
        *w++ = ' ';
    return w;
}

/* ASCII characters to UCS-2, four at a time */
static void
lc_widen(Py_UCS2 *w, const char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if PY_LITTLE_ENDIAN
    for (; i + 4 <= n; i += 4) {
        uint32_t x;
        memcpy(&x, s + i, 4);
        uint64_t t = ((uint64_t)x | ((uint64_t)x << 16)) & 0x0000FFFF0000FFFFULL;
        t = (t | (t << 8)) & 0x00FF00FF00FF00FFULL;
        memcpy(w + i, &t, 8);
    }
#endif
    for (; i < n; i++)
        w[i] = (unsigned char)s[i];
}

/* The finished str: on + main (cut to *width* characters with an ellipsis) + off + newline; placeholders become
 * "→" and "…". */
static PyObject *
lc_text(char *main, Py_ssize_t n, Py_ssize_t width, const char *on, Py_ssize_t lon, const char *off, Py_ssize_t loff)
{
    if (n > width) {
        n = width;
        main[n - 1] = LC_ELLIPSIS;
    }
    int wide = memchr(main, LC_ARROW, n) != NULL || memchr(main, LC_ELLIPSIS, n) != NULL;
    PyObject *out = PyUnicode_New(lon + n + loff + 1, wide ? 0xffff : 127);
    if (out == NULL)
        return NULL;
    if (!wide) {
        char *w = (char *)PyUnicode_DATA(out);
        memcpy(w, on, lon);
        memcpy(w + lon, main, n);
        memcpy(w + lon + n, off, loff);
        w[lon + n + loff] = '\n';
        return out;
    }
    Py_UCS2 *w = (Py_UCS2 *)PyUnicode_DATA(out);
    lc_widen(w, on, lon);
    w += lon;
    lc_widen(w, main, n);  /* (as they are, then the placeholders replaced) */
    for (const char *c = main; (c = memchr(c, LC_ARROW, main + n - c)) != NULL; c++)
        w[c - main] = 0x2192;
    if (main[n - 1] == LC_ELLIPSIS)  /* (only the cut puts one there) */
        w[n - 1] = 0x2026;
    lc_widen(w + n, off, loff);
    w[n + loff] = '\n';
    return out;
}

/* The whole line of packet *p* whose Info text is info[:len] (ws: a WebSocket packet, else TCP); None when a column
 * is not ordinary. */
static PyObject *
lc_line(PyObject *p, const char *info, Py_ssize_t len, int ws, double t0, Py_ssize_t width, PyObject *styles)
{
    long long frame, wire_len;
    Py_ssize_t ls, ld, lon, loff;
    PyObject *ts = LP(p, LP_TS);
    const char *src = lc_ascii(LP(p, LP_SRC), LC_TEXT_MAX, 0, &ls), *dst = lc_ascii(LP(p, LP_DST), LC_TEXT_MAX, 0, &ld);
    const char *on = lc_ascii(PyTuple_GET_ITEM(styles, ws ? 2 : 0), LC_TEXT_MAX, 1, &lon);
    const char *off = lc_ascii(PyTuple_GET_ITEM(styles, ws ? 3 : 1), LC_TEXT_MAX, 1, &loff);
    if (src == NULL || dst == NULL || on == NULL || off == NULL || !PyFloat_CheckExact(ts)
            || !exact_ll(LP(p, LP_FRAME), &frame) || !exact_ll(LP(p, LP_WIRE_LEN), &wire_len))
        Py_RETURN_NONE;
    char buf[LC_INFO_MAX + 4 * LC_TEXT_MAX + 256], num[48], *w = buf, *end;
    Py_ssize_t cols = ls > ld ? ls : ld;
    cols = cols > 15 ? cols : 15;
    end = put_int(num, frame);
    w = lc_right(w, num, end - num, 6);
    *w++ = ' ';
    if ((end = put_seconds6(num, PyFloat_AS_DOUBLE(ts) - t0)) == NULL)
        Py_RETURN_NONE;
    w = lc_right(w, num, end - num, 10);
    *w++ = ' ';
    w = lc_left(w, src, ls, cols);
    *w++ = ' ';
    w = lc_left(w, dst, ld, cols);
    memcpy(w, ws ? " WebSocket " : " TCP       ", 11);
    end = put_int(num, wire_len);
    w = lc_right(w + 11, num, end - num, 6);
    *w++ = ' ';
    memcpy(w, info, len);
    return lc_text(buf, w + len - buf, width, on, lon, off, loff);
}

/* list_line(events, t0, width, styles) -> str or None (see the top of this block) */
static PyObject *
list_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "list_line(events, t0, width, styles) takes 4 arguments");
        return NULL;
    }
    PyObject *events = args[0], *styles = args[3], *p, *analysis;
    Py_ssize_t width;
    if (lc_packet == NULL || !PyList_CheckExact(events) || PyList_GET_SIZE(events) < 1 || !PyFloat_CheckExact(args[1])
            || !PyLong_CheckExact(args[2]) || (width = PyLong_AsSsize_t(args[2])) < 20
            || !PyTuple_CheckExact(styles) || PyTuple_GET_SIZE(styles) != 4)
        goto other;
    p = PyList_GET_ITEM(events, 0);
    if (Py_TYPE(p) != lc_packet || LP(p, LP_PROTOCOL) != Py_None || !PyTuple_CheckExact(LP(p, LP_LAYERS))
            || PyTuple_GET_SIZE(LP(p, LP_LAYERS)) || !PyTuple_CheckExact(analysis = LP(p, LP_ANALYSIS)))
        goto other;
    char info[LC_INFO_MAX + 400], *w = info;
    if (!lc_prefix(analysis, info, &w))
        goto other;
    int frames = lc_frames_info(events, info, &w);
    if (frames < 0 || (!frames && !lc_tcp_info(p, &w)) || w - info > LC_INFO_MAX)
        goto other;
    return lc_line(p, info, w - info, frames > 0, PyFloat_AS_DOUBLE(args[1]), width, styles);
other:
    PyErr_Clear();  /* (a width that is not a Py_ssize_t) */
    Py_RETURN_NONE;
}
