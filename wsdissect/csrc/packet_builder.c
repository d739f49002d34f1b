/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: the Packet event of an in-order TCP
 * segment: packet_builder (pipeline.py). */

/* ---- pktc: the Packet event of an in-order TCP segment (views), built in one call ---- */
/* packet_builder(Packet, Side, Conn, TcpSegment, bases, sides, plain_l3, directions) -> build(seg, frame, ts, data,
 * wire_len, linktype, conn, from_client, stream_base): the Packet event pipeline.Dissector._packet_event makes for
 * the common segment -- in order, with data or acknowledging more, ACK alone of SYN/FIN/RST/ACK, a window, nothing
 * unseen, both directions' relative bases known, a plain link header (*plain_l3*: where IP starts, by link type) --
 * with the relative numbers (tcp/relative.py) and the in-order shortcut of tcp/analysis.py done here on the same
 * state (*bases*: RelativeNumbers.bases, *sides*: TcpAnalysis.sides, both by connection index); the addresses are
 * the connection's (Conn.client_ip/server_ip: ip_str of the same bytes).  Anything else: None and nothing changed;
 * the Python path (the reference) decides.  *directions*: the (client to server, server to client) names. */
enum {
    P_FRAME, P_TS, P_WIRE_LEN, P_CAP_LEN, P_LINKTYPE, P_DATA, P_L3_OFFSET, P_IP_VERSION, P_SRC, P_DST, P_SPORT,
    P_DPORT, P_SEQ, P_ACK, P_FLAGS, P_WINDOW, P_TCP_OFFSET, P_PAYLOAD_LEN, P_CONN, P_DIRECTION, P_REL_SEQ, P_REL_ACK,
    P_STREAM_START, P_ANALYSIS, P_WINDOW_SIZE, P_LAYERS, P_PROTOCOL, P_INFO, P_NFIELDS
};
static const char *packet_field_names[P_NFIELDS] = {
    "frame", "ts", "wire_len", "cap_len", "linktype", "data", "l3_offset", "ip_version", "src", "dst", "sport",
    "dport", "seq", "ack", "flags", "window", "tcp_offset", "payload_len", "conn", "direction", "rel_seq", "rel_ack",
    "stream_start", "analysis", "window_size", "layers", "protocol", "info",
};
enum {
    S_NEXT_SEQ, S_LAST_ACK, S_LAST_WIN, S_DUP_COUNT, S_DUP_FRAME, S_KEEP_ALIVE, S_LAST_TS, S_SYN_TS, S_RTT, S_UNSEEN,
    S_SHIFT, S_NFIELDS
};
static const char *side_field_names[S_NFIELDS] = {
    "next_seq", "last_ack", "last_win", "dup_count", "dup_frame", "keep_alive", "last_ts", "syn_ts", "rtt", "unseen",
    "shift",
};
static const char *conn_field_names[3] = {"index", "client_ip", "server_ip"};
static PyTypeObject *packet_type, *side_type, *conn_type, *seg_type;
static Py_ssize_t packet_offsets[P_NFIELDS], side_offsets[S_NFIELDS], conn_offsets[3], seg_offsets[13];
static PyObject *int_zero, *empty_tuple;

#define OSLOT(obj, where, i) (*(PyObject **)((char *)(obj) + (where)[i]))

/* *o* as a 32-bit sequence number: 1; 0 for None; -1 for anything else (not an int in [0, 2**32)). */
static int
seq_value(PyObject *o, uint32_t *v)
{
    if (o == Py_None)
        return 0;
    if (o == NULL || !PyLong_CheckExact(o))
        return -1;
    unsigned long x = PyLong_AsUnsignedLong(o);  /* (faster than the long long conversion) */
    if (x == (unsigned long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (x > 0xFFFFFFFFUL)
        return -1;
    *v = (uint32_t)x;
    return 1;
}

/* One segment's header fields as the builder reads them (objects borrowed from the TcpSegment). */
struct seg_view {
    uint32_t seq, ack, payload_len;
    long flags, window, l3;
    PyObject *slot[13];  /* the segment's slots (borrowed), in segment_fields' order */
};

static int
read_segment(PyObject *seg, struct seg_view *s)
{
    PyObject **slots = s->slot;
    for (int i = 0; i < 13; i++)
        if ((slots[i] = OSLOT(seg, seg_offsets, i)) == NULL)
            return 0;
    if (seq_value(slots[5], &s->seq) != 1 || seq_value(slots[6], &s->ack) != 1
            || seq_value(slots[10], &s->payload_len) != 1)
        return 0;
    s->flags = PyLong_AsLong(slots[7]);
    s->window = PyLong_AsLong(slots[8]);
    s->l3 = PyLong_AsLong(slots[11]);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* TcpAnalysis.packet's in-order shortcut applies to this segment: 1 (with *shift* the window scale to apply, -1 for
 * none), 0 when the general path must classify it. */
static int
side_in_order(PyObject *me, PyObject *peer, const struct seg_view *s, int *shift)
{
    uint32_t next, last_ack, peer_next;
    if (seq_value(OSLOT(me, side_offsets, S_NEXT_SEQ), &next) != 1 || next != s->seq)
        return 0;
    int known = seq_value(OSLOT(me, side_offsets, S_LAST_ACK), &last_ack);
    if (known < 0 || (s->payload_len == 0 && known && last_ack == s->ack))
        return 0;
    if ((s->flags & 0x17) != 0x10 || s->window == 0 || OSLOT(me, side_offsets, S_UNSEEN) != Py_None)
        return 0;
    if (OSLOT(me, side_offsets, S_RTT) == Py_None && OSLOT(me, side_offsets, S_SYN_TS) != Py_None)
        return 0;
    *shift = -1;
    if (peer != Py_None) {
        known = seq_value(OSLOT(peer, side_offsets, S_NEXT_SEQ), &peer_next);
        if (known < 0 || (known && (uint32_t)(s->ack - peer_next) != 0 && (uint32_t)(s->ack - peer_next) < 0x80000000u))
            return 0;  /* (the ACK acknowledges bytes of the peer not seen: a flag) */
    }
    PyObject *mine = OSLOT(me, side_offsets, S_SHIFT);
    if (mine != Py_None && peer != Py_None && OSLOT(peer, side_offsets, S_SHIFT) != Py_None) {
        long v = PyLong_CheckExact(mine) ? PyLong_AsLong(mine) : -1;
        if (v < 0 || v > 14) {
            PyErr_Clear();
            return 0;
        }
        *shift = (int)v;
    }
    return 1;
}

/* The new values a built packet needs, made before anything changes (so a failure changes nothing). */
struct packet_made {
    PyObject *rel_seq, *rel_ack, *stream_start, *window_size, *cap_len, *next_seq;
};

static void
packet_made_clear(struct packet_made *m)
{
    Py_XDECREF(m->rel_seq);
    Py_XDECREF(m->rel_ack);
    Py_XDECREF(m->stream_start);
    Py_XDECREF(m->window_size);
    Py_XDECREF(m->cap_len);
    Py_XDECREF(m->next_seq);
}

/* Relative numbers (both bases known), stream offset, scaled window, captured length and the next sequence number
 * of the sender: 0, or -1 with an exception set (nothing left over). */
static int
packet_values(const struct seg_view *s, const uint32_t bases[2], int known, uint32_t start, int shift,
              Py_ssize_t cap_len, struct packet_made *m)
{
    memset(m, 0, sizeof *m);
    m->rel_seq = PyLong_FromUnsignedLong((uint32_t)(s->seq - bases[0]));
    m->rel_ack = PyLong_FromUnsignedLong((uint32_t)(s->ack - bases[1]));
    m->stream_start = known == 1 ? PyLong_FromUnsignedLong((uint32_t)(s->seq - start)) : Py_NewRef(Py_None);
    m->window_size = shift < 0 ? Py_NewRef(s->slot[8]) : PyLong_FromLong(s->window << shift);
    m->cap_len = PyLong_FromSsize_t(cap_len);
    m->next_seq = s->payload_len ? PyLong_FromUnsignedLong((uint32_t)(s->seq + s->payload_len)) : Py_NewRef(Py_None);
    if (!m->rel_seq || !m->rel_ack || !m->stream_start || !m->window_size || !m->cap_len || !m->next_seq) {
        packet_made_clear(m);
        return -1;
    }
    return 0;
}

static inline void
replace_slot(PyObject *obj, Py_ssize_t where, PyObject *value)  /* takes a new reference to *value* */
{
    PyObject **p = (PyObject **)((char *)obj + where);
    PyObject *old = *p;
    Py_INCREF(value);
    *p = value;
    Py_XDECREF(old);
}

/* TcpAnalysis.packet's in-order update of the sender's side. */
static void
side_advance(PyObject *me, const struct seg_view *s, PyObject *frame, PyObject *ts, PyObject *next_seq)
{
    replace_slot(me, side_offsets[S_KEEP_ALIVE], Py_False);
    if (s->payload_len) {
        replace_slot(me, side_offsets[S_NEXT_SEQ], next_seq);
        replace_slot(me, side_offsets[S_LAST_TS], ts);
    }
    replace_slot(me, side_offsets[S_DUP_COUNT], int_zero);
    replace_slot(me, side_offsets[S_DUP_FRAME], frame);
    replace_slot(me, side_offsets[S_LAST_ACK], s->slot[6]);
    replace_slot(me, side_offsets[S_LAST_WIN], s->slot[8]);
}

/* The connection's analysis sides and relative bases for this packet (borrowed): 1; 0 when the Python path must
 * make or judge them. */
static int
packet_state(PyObject *ctx, PyObject *conn, int from_client, PyObject **me, PyObject **peer, uint32_t *bases)
{
    PyObject *index = OSLOT(conn, conn_offsets, 0);
    PyObject *b = index ? PyDict_GetItemWithError(PyTuple_GET_ITEM(ctx, 0), index) : NULL;
    PyObject *sides = b ? PyDict_GetItemWithError(PyTuple_GET_ITEM(ctx, 1), index) : NULL;
    if (sides == NULL || !PyList_CheckExact(b) || PyList_GET_SIZE(b) != 2 || !PyList_CheckExact(sides)
            || PyList_GET_SIZE(sides) != 2) {
        PyErr_Clear();
        return 0;
    }
    *me = PyList_GET_ITEM(sides, from_client);
    *peer = PyList_GET_ITEM(sides, !from_client);
    if (Py_TYPE(*me) != side_type || (*peer != Py_None && Py_TYPE(*peer) != side_type))
        return 0;
    for (int i = 0; i < S_NFIELDS; i++)
        if (OSLOT(*me, side_offsets, i) == NULL || (*peer != Py_None && OSLOT(*peer, side_offsets, i) == NULL))
            return 0;
    /* RelativeNumbers.bases is [client base, server base] */
    return seq_value(PyList_GET_ITEM(b, !from_client), &bases[0]) == 1
        && seq_value(PyList_GET_ITEM(b, from_client), &bases[1]) == 1;
}

/* A new Packet with the fields of the segment and the values made for it. */
static PyObject *
packet_event(PyObject *const *args, const struct seg_view *s, PyObject *src, PyObject *dst, PyObject *direction,
             struct packet_made *m)
{
    PyObject *p = packet_type->tp_alloc(packet_type, 0);
    if (p == NULL)
        return NULL;
    PyObject *values[P_NFIELDS] = {
        args[1], args[2], args[4], m->cap_len, args[5], args[3], s->slot[11], s->slot[0], src, dst, s->slot[3],
        s->slot[4], s->slot[5], s->slot[6], s->slot[7], s->slot[8], s->slot[12], s->slot[10], args[6], direction,
        m->rel_seq, m->rel_ack, m->stream_start, empty_tuple, m->window_size, empty_tuple, Py_None, Py_None,
    };
    for (int i = 0; i < P_NFIELDS; i++) {
        Py_INCREF(values[i]);
        OSLOT(p, packet_offsets, i) = values[i];
    }
    return p;
}

/* build(seg, frame, ts, data, wire_len, linktype, conn, from_client, stream_base) -> Packet or None; *self* is
 * (bases, sides, plain_l3, c2s name, s2c name). */
static PyObject *
build_packet(PyObject *ctx, PyObject *const *args, Py_ssize_t nargs)
{
    struct seg_view s;
    struct packet_made m;
    PyObject *me, *peer, *src, *dst, *plain;
    uint32_t bases[2], start;
    int shift, known;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "build(seg, frame, ts, data, wire_len, linktype, conn, from_client, base)");
        return NULL;
    }
    int from_client = args[7] == Py_True;
    if (Py_TYPE(args[0]) != seg_type || !PyBytes_CheckExact(args[3]) || Py_TYPE(args[6]) != conn_type
            || (!from_client && args[7] != Py_False) || !read_segment(args[0], &s)
            || !packet_state(ctx, args[6], from_client, &me, &peer, bases)
            || !side_in_order(me, peer, &s, &shift)
            || (known = seq_value(args[8], &start)) < 0
            || (plain = PyDict_GetItemWithError(PyTuple_GET_ITEM(ctx, 2), args[5])) == NULL
            || PyLong_AsLong(plain) != s.l3
            || (src = OSLOT(args[6], conn_offsets, from_client ? 1 : 2)) == NULL
            || (dst = OSLOT(args[6], conn_offsets, from_client ? 2 : 1)) == NULL) {
        if (PyErr_Occurred())
            PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (packet_values(&s, bases, known, start, shift, PyBytes_GET_SIZE(args[3]), &m) < 0)
        return NULL;
    PyObject *p = packet_event(args, &s, src, dst, PyTuple_GET_ITEM(ctx, from_client ? 3 : 4), &m);
    if (p != NULL)
        side_advance(me, &s, args[1], args[2], m.next_seq);
    packet_made_clear(&m);
    return p;
}

static PyMethodDef build_packet_def = {
    "build_packet", (PyCFunction)(void (*)(void))build_packet, METH_FASTCALL,
    "build(seg, frame, ts, data, wire_len, linktype, conn, from_client, stream_base) -> Packet, or None"};

/* packet_builder(Packet, Side, Conn, TcpSegment, bases, sides, plain_l3, (c2s, s2c)) -> build */
static PyObject *
packet_builder(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyDict_CheckExact(args[4]) || !PyDict_CheckExact(args[5]) || !PyDict_CheckExact(args[6])
            || !PyTuple_CheckExact(args[7]) || PyTuple_GET_SIZE(args[7]) != 2) {
        PyErr_SetString(PyExc_TypeError, "packet_builder(Packet, Side, Conn, TcpSegment, bases: dict, sides: dict, "
                        "plain_l3: dict, (c2s: str, s2c: str))");
        return NULL;
    }
    if (locate_slots(args[0], packet_field_names, P_NFIELDS, packet_offsets) < 0
            || locate_slots(args[1], side_field_names, S_NFIELDS, side_offsets) < 0
            || locate_slots(args[2], conn_field_names, 3, conn_offsets) < 0
            || locate_slots(args[3], segment_fields, 13, seg_offsets) < 0)
        return NULL;
    if (int_zero == NULL && (int_zero = PyLong_FromLong(0)) == NULL)
        return NULL;
    if (empty_tuple == NULL && (empty_tuple = PyTuple_New(0)) == NULL)
        return NULL;
    PyTypeObject **types[4] = {&packet_type, &side_type, &conn_type, &seg_type};
    for (int i = 0; i < 4; i++) {
        Py_INCREF(args[i]);
        Py_XSETREF(*types[i], (PyTypeObject *)args[i]);
    }
    PyObject *ctx = PyTuple_Pack(5, args[4], args[5], args[6], PyTuple_GET_ITEM(args[7], 0),
                                 PyTuple_GET_ITEM(args[7], 1));
    if (ctx == NULL)
        return NULL;
    PyObject *fn = PyCFunction_New(&build_packet_def, ctx);
    Py_DECREF(ctx);
    return fn;
}
