/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: capture records and TCP headers:
 * pcap_records, parse_tcp/tcp_parser, unmask (capture/, ws/mask.py). */

/* ---- capture records and TCP headers ------------------------------------------------------------------------ */

static inline uint32_t
rd32(const unsigned char *p, int little)
{
    return little ? ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24)
                  : ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/* pcap_records(buf, pos, frame, little, unit, linktype, limit, max_records) -> (records, pos)
 * The classic-pcap records lying whole in buf from pos, as (frame, ts, linktype, data, wire_len) tuples exactly as
 * CaptureFile._pcap makes them (ts = sec + frac * unit); stops before a record that is cut by the end of buf or
 * claims more than limit bytes (the Python reader deals with those). */
static PyObject *
pcap_records(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "pcap_records(buf: bytes, pos, frame, little, unit, linktype, limit, max)");
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    long long frame = PyLong_AsLongLong(args[2]);
    int little = PyObject_IsTrue(args[3]);
    double unit = PyFloat_AsDouble(args[4]);
    PyObject *linktype = args[5];
    long long limit = PyLong_AsLongLong(args[6]);
    Py_ssize_t max_records = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred() || little < 0)
        return NULL;
    if (pos < 0 || pos > n) {
        PyErr_SetString(PyExc_ValueError, "pcap_records(): pos out of range");
        return NULL;
    }
    PyObject *records = PyList_New(0);
    if (records == NULL)
        return NULL;
    while (n - pos >= 16 && PyList_GET_SIZE(records) < max_records) {
        const unsigned char *h = buf + pos;
        uint32_t sec = rd32(h, little), frac = rd32(h + 4, little), incl = rd32(h + 8, little);
        uint32_t orig = rd32(h + 12, little);
        if ((long long)incl > limit || (Py_ssize_t)incl > n - pos - 16)
            break;
        PyObject *rec = PyTuple_New(5);
        if (rec == NULL)
            goto error;
        PyObject *f = PyLong_FromLongLong(frame), *ts = PyFloat_FromDouble((double)sec + (double)frac * unit);
        PyObject *data = PyBytes_FromStringAndSize((const char *)h + 16, incl);
        PyObject *wire = PyLong_FromUnsignedLong(orig);
        PyTuple_SET_ITEM(rec, 0, f);
        PyTuple_SET_ITEM(rec, 1, ts);
        Py_INCREF(linktype);
        PyTuple_SET_ITEM(rec, 2, linktype);
        PyTuple_SET_ITEM(rec, 3, data);
        PyTuple_SET_ITEM(rec, 4, wire);
        if (f == NULL || ts == NULL || data == NULL || wire == NULL || PyList_Append(records, rec) < 0) {
            Py_DECREF(rec);
            goto error;
        }
        Py_DECREF(rec);
        pos += 16 + (Py_ssize_t)incl;
        frame++;
    }
    PyObject *res = Py_BuildValue("Nn", records, pos);
    return res;
error:
    Py_DECREF(records);
    return NULL;
}

/* The header fields of one TCP packet, as layers.TcpSegment orders them. */
struct tcp_fields {
    int ver, flags, window;
    const unsigned char *src, *dst;
    Py_ssize_t alen, start, plen, l3, t;
    unsigned sport, dport;
    unsigned long seq, ack;
};

/* Where the IP header starts in a packet of this link type (its bytes d, n of them); -1 when it is not IP. */
static inline Py_ssize_t
link_header_len(long linktype, const unsigned char *d, Py_ssize_t n)
{
    switch (linktype) {
    case 1: case 113: {  /* Ethernet, Linux cooked v1: the EtherType ends where the IP header starts */
        Py_ssize_t l3 = linktype == 1 ? 14 : 16;
        if (n < l3)
            return -1;
        unsigned et = (unsigned)d[l3 - 2] << 8 | d[l3 - 1];
        return et == 0x0800 || et == 0x86DD ? l3 : -1;
    }
    case 101: case 12: case 14: case 228: case 229:
        return 0;
    case 0: case 108: {  /* BSD loopback: AF_INET in either byte order */
        if (n < 4)
            return -1;
        uint32_t le = rd32(d, 1), be = rd32(d, 0);
        return le == 2 || be == 2 ? 4 : -1;
    }
    default:
        return -1;
    }
}

/* An unfragmented IPv4 TCP packet's addresses into *f and where its IP payload ends into *ip_end: where its TCP
 * header starts, or -1. */
static inline Py_ssize_t
ipv4_tcp(const unsigned char *d, Py_ssize_t n, Py_ssize_t l3, struct tcp_fields *f, Py_ssize_t *ip_end)
{
    if (n < l3 + 20)
        return -1;
    Py_ssize_t ihl = (d[l3] & 0x0F) * 4, total = (Py_ssize_t)d[l3 + 2] << 8 | d[l3 + 3];
    unsigned frag = (unsigned)d[l3 + 6] << 8 | d[l3 + 7];
    if (ihl < 20 || total < ihl || d[l3 + 9] != 6 || (frag & 0x3FFF))
        return -1;
    f->src = d + l3 + 12;
    f->dst = d + l3 + 16;
    f->alen = 4;
    *ip_end = l3 + total;
    return l3 + ihl;
}

/* An IPv6 packet whose next header is TCP: its addresses into *f, where its payload ends into *ip_end; where its
 * TCP header starts, or -1. */
static inline Py_ssize_t
ipv6_tcp(const unsigned char *d, Py_ssize_t n, Py_ssize_t l3, struct tcp_fields *f, Py_ssize_t *ip_end)
{
    if (n < l3 + 40 || d[l3 + 6] != 6)
        return -1;
    f->src = d + l3 + 8;
    f->dst = d + l3 + 24;
    f->alen = 16;
    *ip_end = l3 + 40 + ((Py_ssize_t)d[l3 + 4] << 8 | d[l3 + 5]);
    return l3 + 40;
}

/* Read the headers of the common packets (Ethernet without VLAN tags, Linux cooked v1, raw IP, BSD loopback; IPv4
 * unfragmented or IPv6 without extension headers; TCP) into *f: 1, or 0 for anything else, which the Python parser
 * then handles (and reports). */
static int
tcp_fields(long linktype, const unsigned char *d, Py_ssize_t n, struct tcp_fields *f)
{
    Py_ssize_t l3 = link_header_len(linktype, d, n);
    if (l3 < 0 || n <= l3)
        return 0;
    int ver = d[l3] >> 4;
    Py_ssize_t ip_end, t = ver == 4 ? ipv4_tcp(d, n, l3, f, &ip_end) : ver == 6 ? ipv6_tcp(d, n, l3, f, &ip_end) : -1;
    if (t < 0)
        return 0;
    if (n < t + 20)
        return 0;
    const unsigned char *h = d + t;
    Py_ssize_t hl = (h[12] >> 4) * 4;
    f->start = t + hl;
    f->plen = ip_end - f->start;
    if (hl < 20 || f->plen < 0)
        return 0;
    f->ver = ver;
    f->sport = (unsigned)(h[0] << 8 | h[1]);
    f->dport = (unsigned)(h[2] << 8 | h[3]);
    f->seq = (unsigned long)rd32(h + 4, 0);
    f->ack = (unsigned long)rd32(h + 8, 0);
    f->flags = h[13];
    f->window = (int)((unsigned)h[14] << 8 | h[15]);
    f->l3 = l3;
    f->t = t;
    return 1;
}

/* The 13 fields of *f* as new objects in *items* (layers.TcpSegment's order); 0, or -1 with none left over. */
/* The last addresses made (newest first): a connection's packets carry the same two, so they share the bytes
 * objects (and the hash each caches for the flow lookups) instead of making new ones per packet. */
static PyObject *addr_cache[4];

static PyObject *
address(const unsigned char *a, Py_ssize_t n)
{
    for (int i = 0; i < 4; i++) {
        PyObject *c = addr_cache[i];
        if (c != NULL && PyBytes_GET_SIZE(c) == n && memcmp(PyBytes_AS_STRING(c), a, n) == 0) {
            Py_INCREF(c);
            return c;
        }
    }
    PyObject *b = PyBytes_FromStringAndSize((const char *)a, n);
    if (b == NULL)
        return NULL;
    Py_XDECREF(addr_cache[3]);
    memmove(addr_cache + 1, addr_cache, 3 * sizeof(PyObject *));
    Py_INCREF(b);
    addr_cache[0] = b;
    return b;
}

static int
tcp_items(const struct tcp_fields *f, PyObject *items[13])
{
    PyObject *made[13] = {
        PyLong_FromLong(f->ver),
        address(f->src, f->alen),
        address(f->dst, f->alen),
        PyLong_FromUnsignedLong(f->sport), PyLong_FromUnsignedLong(f->dport),
        PyLong_FromUnsignedLong(f->seq), PyLong_FromUnsignedLong(f->ack),
        PyLong_FromLong(f->flags), PyLong_FromLong(f->window),
        PyLong_FromSsize_t(f->start), PyLong_FromSsize_t(f->plen), PyLong_FromSsize_t(f->l3), PyLong_FromSsize_t(f->t),
    };
    int failed = 0;
    for (int i = 0; i < 13; i++) {
        items[i] = made[i];
        if (made[i] == NULL)
            failed = 1;
    }
    if (failed) {
        for (int i = 0; i < 13; i++)
            Py_XDECREF(items[i]);
        return -1;
    }
    return 0;
}

/* The fields as a plain tuple (speedups.parse_tcp, for the tests). */
static PyObject *
tcp_tuple(const struct tcp_fields *f)
{
    PyObject *items[13];
    if (tcp_items(f, items) < 0)
        return NULL;
    PyObject *tup = PyTuple_New(13);
    if (tup == NULL) {
        for (int i = 0; i < 13; i++)
            Py_DECREF(items[i]);
        return NULL;
    }
    for (int i = 0; i < 13; i++)
        PyTuple_SET_ITEM(tup, i, items[i]);
    return tup;
}

static int
tcp_args(PyObject *const *args, Py_ssize_t nargs, long *linktype)
{
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "parse_tcp(linktype, data: bytes)");
        return -1;
    }
    *linktype = PyLong_AsLong(args[0]);
    return *linktype == -1 && PyErr_Occurred() ? -1 : 0;
}

/* parse_tcp(linktype, data) -> the fields of wsdissect.capture.layers.parse_tcp as a plain tuple, for the common
 * packets (see tcp_fields); False for anything else. */
static PyObject *
parse_tcp(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long linktype;
    struct tcp_fields f;
    if (tcp_args(args, nargs, &linktype) < 0)
        return NULL;
    if (!tcp_fields(linktype, (const unsigned char *)PyBytes_AS_STRING(args[1]), PyBytes_GET_SIZE(args[1]), &f))
        Py_RETURN_FALSE;
    return tcp_tuple(&f);
}

/* layers.TcpSegment: a slotted class; tcp_parser() finds its 13 slots (in this order) once */
static const char *segment_fields[13] = {"ip_version", "src", "dst", "sport", "dport", "seq", "ack", "flags", "window",
                                         "payload_start", "payload_len", "l3_offset", "tcp_offset"};
static Py_ssize_t segment_offsets[13];

static int
find_segment_slots(PyTypeObject *type)
{
    for (int i = 0; i < 13; i++) {
        PyObject *d = PyDict_GetItemString(type->tp_dict, segment_fields[i]);
        if (d == NULL || !PyObject_TypeCheck(d, &PyMemberDescr_Type)
                || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "tcp_parser: segment_type.%s is not an object slot", segment_fields[i]);
            return -1;
        }
        segment_offsets[i] = ((PyMemberDescrObject *)d)->d_member->offset;
    }
    return 0;
}

/* A new *type* instance (a TcpSegment) with the fields of *f* in its slots. */
static PyObject *
tcp_segment(PyTypeObject *type, const struct tcp_fields *f)
{
    PyObject *items[13];
    if (tcp_items(f, items) < 0)
        return NULL;
    PyObject *obj = type->tp_alloc(type, 0);
    if (obj == NULL) {
        for (int i = 0; i < 13; i++)
            Py_DECREF(items[i]);
        return NULL;
    }
    for (int i = 0; i < 13; i++)  /* the slots take the references */
        *(PyObject **)((char *)obj + segment_offsets[i]) = items[i];
    return obj;
}

/* The function tcp_parser() returns; *self* is (segment_type, fallback). */
static PyObject *
parse_segment(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long linktype;
    struct tcp_fields f;
    if (nargs == 2 && !PyBytes_Check(args[1]))  /* not bytes: the fallback decides */
        return PyObject_Vectorcall(PyTuple_GET_ITEM(self, 1), args, 2, NULL);
    if (tcp_args(args, nargs, &linktype) < 0)
        return NULL;
    if (!tcp_fields(linktype, (const unsigned char *)PyBytes_AS_STRING(args[1]), PyBytes_GET_SIZE(args[1]), &f))
        return PyObject_Vectorcall(PyTuple_GET_ITEM(self, 1), args, 2, NULL);
    return tcp_segment((PyTypeObject *)PyTuple_GET_ITEM(self, 0), &f);
}

static PyMethodDef parse_segment_def = {
    "parse_tcp", (PyCFunction)(void (*)(void))parse_segment, METH_FASTCALL,
    "parse_tcp(linktype, data) -> a segment_type for the common packets, else fallback(linktype, data)"};

/* tcp_parser(segment_type, fallback) -> a function (linktype, data) that builds segment_type (layers.TcpSegment: a
 * slotted class with the 13 fields of segment_fields) straight from the headers of the common packets, and calls
 * fallback(linktype, data) for the others: no Python between the packet and its typed segment. */
static PyObject *
tcp_parser(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyType_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "tcp_parser(segment_type: a slotted class, fallback: callable)");
        return NULL;
    }
    if (find_segment_slots((PyTypeObject *)args[0]) < 0)
        return NULL;
    PyObject *bound = PyTuple_Pack(2, args[0], args[1]);
    if (bound == NULL)
        return NULL;
    PyObject *fn = PyCFunction_New(&parse_segment_def, bound);
    Py_DECREF(bound);
    return fn;
}

/* unmask(data, key) -> bytes: *data* XOR the repeating 4-byte *key* (ws/mask.py; its unmask_py is the reference). */
static PyObject *
unmask(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, key;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "unmask(data, key) takes 2 arguments");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &key, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    PyObject *out = NULL;
    if (key.len != 4)
        PyErr_SetString(PyExc_ValueError, "unmask: the key must be 4 bytes");
    else if ((out = PyBytes_FromStringAndSize(NULL, data.len)) != NULL)
        xor_mask((unsigned char *)PyBytes_AS_STRING(out), (const unsigned char *)data.buf, data.len,
                 (const unsigned char *)key.buf);
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    return out;
}
