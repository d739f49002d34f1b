/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: the WebSocket fast lane: Message/WsFrame
 * slots (configure) and scan_messages (ws/lane.py drives it). */
/*
 * scan_messages: the WebSocket "fast lane".  Starting at a frame boundary, it decodes the run of frames that need
 *   no judgement at all -- complete, unfragmented text/binary frames with FIN set, RSV clear (or RSV1 alone when
 *   permessage-deflate is in use: the direction's Python inflater is called), the mask bit this direction must
 *   use, a minimally encoded 7- or 16-bit length, a payload under the buffering limit and (for text) valid UTF-8;
 *   and Pings and Pongs with FIN set, RSV clear, the right mask bit and a 7-bit length (each handed to the
 *   connection's lifecycle) -- and appends one Message event per frame.  It stops at the first frame that is
 *   anything else and returns where it stopped; the pure-Python FrameParser and MessageAssembler take it from
 *   there, so every finding is still produced by the Python stages.  The events it builds are identical to the
 *   ones the Python path builds for the same frames (tests/equivalence/test_lane.py checks that).
 */

/* Message slots, located once by name in configure(). */
enum {
    M_CONN, M_DIRECTION, M_OPCODE, M_PAYLOAD, M_COMPLETE, M_FIRST_FRAME, M_LAST_FRAME, M_FIRST_TS, M_LAST_TS,
    M_FRAGMENTS, M_COMPRESSED, M_WIRE_LENGTH, M_FRAMES, M_CLOSE_CODE, M_CLOSE_REASON, M_TEXT, M_TRUNCATED, M_NOTE,
    M_RAW, M_APP, M_NFIELDS
};
static const char *field_names[M_NFIELDS] = {
    "conn", "direction", "opcode", "payload", "complete", "first_frame", "last_frame", "first_ts", "last_ts",
    "fragments", "compressed", "wire_length", "frames", "close_code", "close_reason", "text", "truncated", "note", "raw",
    "app",
};
static PyTypeObject *message_type = NULL;
static Py_ssize_t offsets[M_NFIELDS];
/* WsFrame slots (the lane's frame events, when frames are wanted), located in configure() too. */
enum {
    F_CONN, F_DIRECTION, F_FIRST_FRAME, F_FRAME, F_TS, F_FIN, F_RSV, F_OPCODE, F_MASKED, F_MASK_KEY, F_LENGTH_CODE,
    F_PAYLOAD_LEN, F_HEADER, F_PAYLOAD, F_COMPLETE, F_STREAM_OFFSET, F_NFIELDS
};
static const char *frame_field_names[F_NFIELDS] = {
    "conn", "direction", "first_frame", "frame", "ts", "fin", "rsv", "opcode", "masked", "mask_key", "length_code",
    "payload_len", "header", "payload", "complete", "stream_offset",
};
static PyTypeObject *frame_type = NULL;
static Py_ssize_t frame_offsets[F_NFIELDS];
static PyObject *int_one, *int_two;
/* message_line's one-entry head cache; last_heads is the heads dict it came from (borrowed, compared only) */
static PyObject *last_conn, *last_direction, *last_head, *last_heads;

#define SLOT(obj, i) (*(PyObject **)((char *)(obj) + offsets[i]))
#define FSLOT(obj, i) (*(PyObject **)((char *)(obj) + frame_offsets[i]))

/* Find the object slots *names* of class *cls*; 0 done, -1 with an exception set. */
static int
locate_slots(PyObject *cls, const char *const *names, int n, Py_ssize_t *where)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "configure() needs the Message and WsFrame classes");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        PyObject *d = PyDict_GetItemString(((PyTypeObject *)cls)->tp_dict, names[i]);
        if (d == NULL || !PyObject_TypeCheck(d, &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", ((PyTypeObject *)cls)->tp_name, names[i]);
            return -1;
        }
        PyMemberDef *def = ((PyMemberDescrObject *)d)->d_member;
        if (def->type != T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", ((PyTypeObject *)cls)->tp_name, names[i]);
            return -1;
        }
        where[i] = def->offset;
    }
    return 0;
}

static PyObject *
configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "configure(Message, WsFrame)");
        return NULL;
    }
    if (locate_slots(args[0], field_names, M_NFIELDS, offsets) < 0
        || locate_slots(args[1], frame_field_names, F_NFIELDS, frame_offsets) < 0)
        return NULL;
    Py_INCREF(args[0]);
    Py_XSETREF(message_type, (PyTypeObject *)args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(frame_type, (PyTypeObject *)args[1]);
    Py_RETURN_NONE;
}

static inline void
set_slot(PyObject *obj, int i, PyObject *value)  /* steals nothing */
{
    Py_INCREF(value);
    SLOT(obj, i) = value;
}

static void
xor_mask(unsigned char *dst, const unsigned char *src, Py_ssize_t n, const unsigned char *key)
{
    uint32_t k32;
    memcpy(&k32, key, 4);
    uint64_t k64 = ((uint64_t)k32 << 32) | k32;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= k64;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ key[i & 3];
}

/* Build a Message for a complete one-frame data message, Ping or Pong (the fields the Python assembler would give
 * it). */
static PyObject *
new_message(PyObject *conn, PyObject *direction, int opcode, PyObject *payload, PyObject *first, PyObject *frame,
            PyObject *ts, PyObject *compressed, Py_ssize_t wire_length, PyObject *frames, PyObject *text)
{
    PyObject *wire = PyLong_FromSsize_t(wire_length), *op = PyLong_FromLong(opcode);  /* (op: a cached small int) */
    if (wire == NULL || op == NULL) {
        Py_XDECREF(wire);
        Py_XDECREF(op);
        return NULL;
    }
    PyObject *m = message_type->tp_alloc(message_type, 0);
    if (m == NULL) {
        Py_DECREF(wire);
        Py_DECREF(op);
        return NULL;
    }
    set_slot(m, M_CONN, conn);
    set_slot(m, M_DIRECTION, direction);
    SLOT(m, M_OPCODE) = op;
    set_slot(m, M_PAYLOAD, payload);
    set_slot(m, M_COMPLETE, Py_True);
    set_slot(m, M_FIRST_FRAME, first);
    set_slot(m, M_LAST_FRAME, frame);
    set_slot(m, M_FIRST_TS, ts);
    set_slot(m, M_LAST_TS, ts);
    set_slot(m, M_FRAGMENTS, int_one);
    set_slot(m, M_COMPRESSED, compressed);
    SLOT(m, M_WIRE_LENGTH) = wire;
    set_slot(m, M_FRAMES, frames);
    set_slot(m, M_CLOSE_CODE, Py_None);
    set_slot(m, M_CLOSE_REASON, Py_None);
    set_slot(m, M_TEXT, text ? text : Py_None);
    set_slot(m, M_TRUNCATED, Py_False);
    set_slot(m, M_NOTE, Py_None);
    set_slot(m, M_RAW, Py_None);
    set_slot(m, M_APP, Py_None);
    return m;
}

/* One frame the lane takes, as it is on the wire (for its WsFrame event). */
struct lane_frame {
    const unsigned char *head;  /* its first header byte */
    Py_ssize_t header_len, plen;
    int masked;
    long long offset;  /* stream offset of its first header byte */
};

/* The frame at data[pos] (n bytes in data) when the lane takes it and it is all there: 1, with *f filled but for its
 * offset; 0 otherwise, with *tail set when the lane would take it but data ends inside it (its length so far). */
static int
lane_header(const unsigned char *data, Py_ssize_t pos, Py_ssize_t n, long mask_bit, Py_ssize_t max_payload,
            int inflating, struct lane_frame *f, Py_ssize_t *tail)
{
    unsigned char b0 = data[pos];
    int compressed = b0 == 0xC1 || b0 == 0xC2, ping_pong = b0 == 0x89 || b0 == 0x8A;
    if (b0 != 0x81 && b0 != 0x82 && !ping_pong && !(compressed && inflating))
        return 0;
    if (n - pos < 2) {
        *tail = 2;
        return 0;
    }
    unsigned char b1 = data[pos + 1];
    if ((long)(b1 & 0x80) != mask_bit)
        return 0;
    Py_ssize_t plen = b1 & 0x7F, p = pos + 2;
    if (plen == 127 || (plen == 126 && ping_pong))  /* (a control frame's 16-bit length: check_frame's) */
        return 0;
    if (plen == 126) {
        if (n - pos < 4) {
            *tail = 4 + (mask_bit ? 4 : 0);
            return 0;
        }
        plen = ((Py_ssize_t)data[pos + 2] << 8) | data[pos + 3];
        if (plen < 126)
            return 0;
        p = pos + 4;
    }
    if (b1 & 0x80) {
        if (n - p < 4) {
            *tail = p - pos + 4 + plen;
            return 0;
        }
        p += 4;
    }
    if (plen > max_payload)
        return 0;
    if (plen > n - p) {
        *tail = p - pos + plen;
        return 0;
    }
    f->head = data + pos;
    f->header_len = p - pos;
    f->plen = plen;
    f->masked = (b1 & 0x80) != 0;
    return 1;
}

/* Fill the WsFrame slots that vary from frame to frame (new references stolen); -1 when one is missing. */
static int
fill_frame_numbers(PyObject *w, const struct lane_frame *f)
{
    unsigned char b0 = f->head[0], b1 = f->head[1];
    PyObject *vals[6] = {
        PyLong_FromLong((b0 >> 4) & 7), PyLong_FromLong(b0 & 0x0F), PyLong_FromLong(b1 & 0x7F),
        PyLong_FromSsize_t(f->plen), PyBytes_FromStringAndSize((const char *)f->head, f->header_len),
        PyLong_FromLongLong(f->offset)};
    static const int slots[6] = {F_RSV, F_OPCODE, F_LENGTH_CODE, F_PAYLOAD_LEN, F_HEADER, F_STREAM_OFFSET};
    int ok = 0;
    for (int i = 0; i < 6; i++) {
        FSLOT(w, slots[i]) = vals[i];
        if (vals[i] == NULL)
            ok = -1;
    }
    if (f->masked) {
        FSLOT(w, F_MASK_KEY) = PyBytes_FromStringAndSize((const char *)f->head + f->header_len - 4, 4);
        if (FSLOT(w, F_MASK_KEY) == NULL)
            ok = -1;
    }
    else {
        Py_INCREF(Py_None);
        FSLOT(w, F_MASK_KEY) = Py_None;
    }
    return ok;
}

/* Append the WsFrame event of a frame the lane takes (complete, FIN set), as WsStream.frames_in would. */
static int
append_ws_frame(PyObject *out, PyObject *const *where, const struct lane_frame *f, PyObject *payload)
{
    PyObject *w = frame_type->tp_alloc(frame_type, 0);  /* where: conn, direction, first, frame, ts */
    if (w == NULL)
        return -1;
    static const int fixed[5] = {F_CONN, F_DIRECTION, F_FIRST_FRAME, F_FRAME, F_TS};
    for (int i = 0; i < 5; i++) {
        Py_INCREF(where[i]);
        FSLOT(w, fixed[i]) = where[i];
    }
    Py_INCREF(Py_True);
    FSLOT(w, F_FIN) = Py_True;
    Py_INCREF(Py_True);
    FSLOT(w, F_COMPLETE) = Py_True;
    PyObject *masked = f->masked ? Py_True : Py_False;
    Py_INCREF(masked);
    FSLOT(w, F_MASKED) = masked;
    Py_INCREF(payload);
    FSLOT(w, F_PAYLOAD) = payload;
    int ok = fill_frame_numbers(w, f) < 0 ? -1 : PyList_Append(out, w);
    Py_DECREF(w);
    return ok;
}

/* Add *add* to the int at list[i]. */
static int
list_add(PyObject *list, Py_ssize_t i, Py_ssize_t add)
{
    PyObject *inc = PyLong_FromSsize_t(add);
    if (inc == NULL)
        return -1;
    PyObject *sum = PyNumber_Add(PyList_GET_ITEM(list, i), inc);
    Py_DECREF(inc);
    if (sum == NULL)
        return -1;
    return PyList_SetItem(list, i, sum);  /* steals sum */
}

/* One scan_messages run: its arguments, the lane's constant context, and what it has taken so far. */
struct lane_run {
    PyObject *conn, *direction, *inflate, *odd, *control, *out, *frame, *ts, *frames;
    PyObject *count, *nbytes, *sums;
    PyObject *where[5];  /* a WsFrame's fixed slots: conn, direction, first (per frame), frame, ts */
    int want_frames;
    Py_ssize_t counts[11], sizes[11], largest, wire_total;
};

/* Check scan_messages' arguments and fill *r from them (and *pos, *first, *at, ...); -1 with an exception set. */
static int
lane_run_init(struct lane_run *r, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t *pos, long *mask_bit,
              Py_ssize_t *max_payload, long long *at)
{
    if (nargs != 8 || !PyTuple_Check(args[6]) || PyTuple_GET_SIZE(args[6]) != 10) {
        PyErr_SetString(PyExc_TypeError, "scan_messages(data, pos, first, frame, ts, out, lane: 10-tuple, at)");
        return -1;
    }
    if (message_type == NULL || frame_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "scan_messages() before configure()");
        return -1;
    }
    PyObject *lane = args[6];
    *r = (struct lane_run){
        .conn = PyTuple_GET_ITEM(lane, 2), .direction = PyTuple_GET_ITEM(lane, 3),
        .inflate = PyTuple_GET_ITEM(lane, 4), .odd = PyTuple_GET_ITEM(lane, 5), .count = PyTuple_GET_ITEM(lane, 6),
        .nbytes = PyTuple_GET_ITEM(lane, 7), .sums = PyTuple_GET_ITEM(lane, 8), .control = PyTuple_GET_ITEM(lane, 9),
        .out = args[5], .frame = args[3], .ts = args[4], .want_frames = args[7] != Py_None};
    PyObject *where[5] = {r->conn, r->direction, args[2], r->frame, r->ts};
    memcpy(r->where, where, sizeof where);
    if (!PyBytes_Check(args[0]) || !PyList_Check(r->out) || !PyList_Check(r->count) || PyList_GET_SIZE(r->count) != 16
        || !PyList_Check(r->nbytes) || PyList_GET_SIZE(r->nbytes) != 16 || !PyList_Check(r->sums)
        || PyList_GET_SIZE(r->sums) != 2) {
        PyErr_SetString(PyExc_TypeError, "scan_messages(): bad data, out or lane counters");
        return -1;
    }
    *pos = PyLong_AsSsize_t(args[1]);
    *mask_bit = PyLong_AsLong(PyTuple_GET_ITEM(lane, 0));
    *max_payload = PyLong_AsSsize_t(PyTuple_GET_ITEM(lane, 1));
    *at = r->want_frames ? PyLong_AsLongLong(args[7]) : 0;
    return PyErr_Occurred() ? -1 : 0;
}

/* A new bytes object with the payload of frame f as sent, unmasked. */
static inline PyObject *
lane_payload(const struct lane_frame *f)
{
    const unsigned char *src = f->head + f->header_len;
    if (!f->masked || !f->plen)
        return PyBytes_FromStringAndSize((const char *)src, f->plen);
    PyObject *payload = PyBytes_FromStringAndSize(NULL, f->plen);
    if (payload != NULL)
        xor_mask((unsigned char *)PyBytes_AS_STRING(payload), src, f->plen, src - 4);
    return payload;
}

/* Hand a compressed frame whose inflating failed (or whose text is not UTF-8) to odd(), which finishes it. */
static int
lane_odd(struct lane_run *r, int opcode, PyObject *payload, PyObject *problem, PyObject *first, Py_ssize_t plen)
{
    PyObject *wire = PyLong_FromSsize_t(plen), *op = opcode == 1 ? int_one : int_two;
    PyObject *res = wire ? PyObject_CallFunctionObjArgs(r->odd, op, payload, problem, first, r->frame, r->ts, wire,
                                                        r->out, NULL) : NULL;
    Py_XDECREF(wire);
    if (res == NULL)
        return -1;
    Py_DECREF(res);
    return 0;
}

/* Inflate a compressed frame's *payload (stolen; replaced by the inflated bytes) and decode its *text: 1 done,
 * 0 finished by odd() instead (the run stops after this frame), -1 error. */
static int
lane_inflate(struct lane_run *r, int opcode, PyObject *first, Py_ssize_t plen, PyObject **payload, PyObject **text)
{
    PyObject *res = PyObject_CallOneArg(r->inflate, *payload);
    Py_DECREF(*payload);
    *payload = NULL;
    if (res == NULL)
        return -1;
    if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(res, 0))) {
        Py_DECREF(res);
        PyErr_SetString(PyExc_TypeError, "inflate() must return (bytes, problem)");
        return -1;
    }
    PyObject *inflated = PyTuple_GET_ITEM(res, 0), *problem = PyTuple_GET_ITEM(res, 1);
    Py_INCREF(inflated);
    Py_INCREF(problem);
    Py_DECREF(res);
    int ok = 1;
    if (problem == Py_None && opcode == 1) {
        *text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(inflated), PyBytes_GET_SIZE(inflated), NULL);
        if (*text == NULL && !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
            ok = -1;
        else if (*text == NULL)
            PyErr_Clear();
    }
    if (ok == 1 && (problem != Py_None || (opcode == 1 && *text == NULL)))
        ok = lane_odd(r, opcode, inflated, problem, first, plen);
    Py_DECREF(problem);
    if (ok == 1)
        *payload = inflated;
    else
        Py_DECREF(inflated);
    return ok;
}

/* Append the Message of a taken frame (payload and text stolen), count it, and hand a Ping or Pong to control(). */
static inline int
lane_message(struct lane_run *r, int opcode, PyObject *payload, PyObject *text, PyObject *first,
             const struct lane_frame *f, int compressed)
{
    PyObject *m = new_message(r->conn, r->direction, opcode, payload, first, r->frame, r->ts,
                              compressed ? Py_True : Py_False, f->plen, r->frames, text);
    Py_XDECREF(text);
    Py_ssize_t size = PyBytes_GET_SIZE(payload);
    Py_DECREF(payload);
    if (m == NULL)
        return -1;
    if (PyList_Append(r->out, m) < 0) {
        Py_DECREF(m);
        return -1;
    }
    r->counts[opcode]++;
    r->sizes[opcode] += size;
    r->wire_total += f->plen;
    if (size > r->largest)
        r->largest = size;
    if (opcode == 9 || opcode == 10) {  /* the lifecycle notes it (and may append its finding) before the next one */
        PyObject *res = PyObject_CallFunctionObjArgs(r->control, m, r->out, NULL);
        Py_DECREF(m);
        if (res == NULL)
            return -1;
        Py_DECREF(res);
    }
    else
        Py_DECREF(m);
    return 0;
}

/* Take frame f: 1 taken; 2 finished by odd() (the run stops after it); 0 invalid UTF-8 (the run stops before it,
 * for the Python assembler to report); -1 error. */
static inline int
lane_take(struct lane_run *r, const struct lane_frame *f, PyObject *first)
{
    int opcode = f->head[0] & 0x0F, compressed = f->head[0] == 0xC1 || f->head[0] == 0xC2;
    PyObject *payload = lane_payload(f), *text = NULL;
    if (payload == NULL)
        return -1;
    r->where[2] = first;
    if (r->frames == NULL && (r->frames = PyTuple_Pack(1, r->frame)) == NULL) {
        Py_DECREF(payload);
        return -1;
    }
    if (compressed) {  /* from here on this frame is finished in this call, whatever happens */
        if (r->want_frames && append_ws_frame(r->out, r->where, f, payload) < 0) {
            Py_DECREF(payload);
            return -1;
        }
        int ok = lane_inflate(r, opcode, first, f->plen, &payload, &text);
        if (ok <= 0)
            return ok < 0 ? -1 : 2;
    }
    else {
        if (opcode == 1 && (text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(payload), f->plen, NULL)) == NULL) {
            Py_DECREF(payload);
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                return -1;
            PyErr_Clear();
            return 0;
        }
        if (r->want_frames && append_ws_frame(r->out, r->where, f, payload) < 0) {
            Py_XDECREF(text);
            Py_DECREF(payload);
            return -1;
        }
    }
    return lane_message(r, opcode, payload, text, first, f, compressed) < 0 ? -1 : 1;
}

/* Add the run's per-opcode counts and sizes, wire bytes and largest payload to the assembler's lists. */
static int
lane_count(const struct lane_run *r)
{
    Py_ssize_t taken = 0;
    for (int op = 1; op <= 10; op++) {
        if (r->counts[op] && (list_add(r->count, op, r->counts[op]) < 0 || list_add(r->nbytes, op, r->sizes[op]) < 0))
            return -1;
        taken += r->counts[op];
    }
    if (r->wire_total && list_add(r->sums, 0, r->wire_total) < 0)
        return -1;
    if (taken) {
        Py_ssize_t known = PyLong_AsSsize_t(PyList_GET_ITEM(r->sums, 1));
        if (known == -1 && PyErr_Occurred())
            return -1;
        if (r->largest > known && list_add(r->sums, 1, r->largest - known) < 0)
            return -1;
    }
    return 0;
}

/* scan_messages(data, pos, first, frame, ts, out, lane, at) -> (pos, tail)
 * lane: the direction's constant context, (mask_bit, max_payload, conn, direction, inflate, odd, count, nbytes,
 *   sums, control) -- see MessageAssembler.lane_context: the messages taken are counted into the assembler's
 *   per-opcode lists count and nbytes (16 items) and into sums = [wire bytes, largest payload].
 * Pings and Pongs (FIN, no RSV bit, the right mask bit, a 7-bit length) are taken too: each is handed to
 *   control(message, out) (the connection's lifecycle, WsStream.lane_control) right after it is appended.
 * tail: when the run ends at a frame the lane would take that is not all in data, the frame's full length (or
 *   the header length, when the header itself is cut); 0 otherwise.
 * first: the capture frame where the first frame of the run began (frame for the others).
 * inflate: None, or the direction's Inflater.inflate; then one-frame compressed messages (RSV1) are taken too.
 *   Once a frame has been inflated it is always finished here: when inflate reports a problem or the text is not
 *   UTF-8, odd(opcode, payload, problem, first, frame, ts, wire, out) (MessageAssembler.lane_inflated) finishes
 *   it and counts it, and the run ends after that frame (so its finding can be reported in order).
 * at: None, or the stream offset of data[0]: then each frame taken is appended as a WsFrame event (views) right
 *   before its message, with first/frame/ts as the message's and its payload as sent (unmasked, not inflated). */
static PyObject *
scan_messages(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    struct lane_run r;
    Py_ssize_t pos, max_payload;
    long mask_bit;
    long long at;
    if (lane_run_init(&r, args, nargs, &pos, &mask_bit, &max_payload, &at) < 0)
        return NULL;
    PyObject *first = args[2];
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);

    Py_ssize_t tail = 0;  /* when the run ends at a frame the lane would take but that is cut: its length so far */
    while (pos < n) {
        struct lane_frame lf;
        if (!lane_header(data, pos, n, mask_bit, max_payload, r.inflate != Py_None, &lf, &tail))
            break;
        lf.offset = at + pos;
        int took = lane_take(&r, &lf, first);
        if (took < 0) {
            Py_XDECREF(r.frames);
            return NULL;
        }
        if (took == 0)
            break;
        pos += lf.header_len + lf.plen;
        if (took == 2)  /* stop here: the caller reports the finding before any later message */
            break;
        first = r.frame;
    }
    Py_XDECREF(r.frames);
    if (lane_count(&r) < 0)
        return NULL;
    return Py_BuildValue("nn", pos, tail);
}
