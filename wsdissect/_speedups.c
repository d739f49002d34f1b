/* Optional C accelerators for the two per-message hot spots (see wsdissect/speedups.py).
 *
 * scan_messages: the WebSocket "fast lane".  Starting at a frame boundary, it decodes the run of frames that need
 *   no judgement at all -- complete, unfragmented text/binary frames with FIN set, RSV clear (or RSV1 alone when
 *   permessage-deflate is in use: the direction's Python inflater is called), the mask bit this direction must
 *   use, a minimally encoded 7- or 16-bit length, a payload under the buffering limit and (for text) valid UTF-8;
 *   and Pings and Pongs with FIN set, RSV clear, the right mask bit and a 7-bit length (each handed to the
 *   connection's lifecycle) -- and appends one Message event per frame.  It stops at the first frame that is
 *   anything else and returns where it stopped; the pure-Python FrameParser and MessageAssembler take it from
 *   there, so every finding is still produced by the Python stages.  The events it builds are identical to the
 *   ones the Python path builds for the same frames (tests/equivalence/test_lane.py checks that).
 *
 * message_line / encode_messages: message_record(m) as compact JSON for the common record (a complete text,
 *   binary or control message with no note or truncation, and an ordinary timestamp); anything else is left to
 *   the Python encoder.  encode_messages writes a run of JSONL records straight into the writer's buffer.
 *
 * Neither function prints, reads files, or raises on protocol content.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include <limits.h>

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

/* ---- message_line ------------------------------------------------------------------------------------------ */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint16_t b64_pairs[4096];  /* two base64 characters for each 12-bit value */

static void
init_b64_pairs(void)
{
    for (int i = 0; i < 4096; i++) {
        unsigned char pair[2] = {(unsigned char)b64_alphabet[i >> 6], (unsigned char)b64_alphabet[i & 63]};
        memcpy(&b64_pairs[i], pair, 2);
    }
}

static char *
put_b64(char *w, const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
        memcpy(w, &b64_pairs[v >> 12], 2);
        memcpy(w + 2, &b64_pairs[v & 4095], 2);
        w += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *w++ = b64_alphabet[v >> 18];
        *w++ = b64_alphabet[(v >> 12) & 63];
        *w++ = '=';
        *w++ = '=';
    }
    else if (n - i == 2) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);
        *w++ = b64_alphabet[v >> 18];
        *w++ = b64_alphabet[(v >> 12) & 63];
        *w++ = b64_alphabet[(v >> 6) & 63];
        *w++ = '=';
    }
    return w;
}

/* Extra bytes JSON escaping adds per byte: the escapes orjson writes (\" \\ \b \t \n \f \r, else \u00XX). */
static unsigned char escape_cost[256];

static void
init_escape_cost(void)
{
    for (int c = 0; c < 0x20; c++)
        escape_cost[c] = (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') ? 1 : 5;
    escape_cost['"'] = escape_cost['\\'] = 1;
}

static Py_ssize_t
escape_extra(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t extra = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        extra += escape_cost[s[i]];
    return extra;
}

/* Nonzero when one of the 8 bytes in x is below 0x20, '"' or '\\' (SWAR test, exact). */
static inline uint64_t
needs_escape8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t lt20 = (x - ones * 0x20) & ~x & high;  /* byte < 0x20 */
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t eq = ((q - ones) & ~q & high) | ((b - ones) & ~b & high);  /* byte == '"' or '\\' */
    return lt20 | eq;
}

static char *
put_escaped(char *w, const unsigned char *s, Py_ssize_t n)
{
    static const char hex[] = "0123456789abcdef";
    Py_ssize_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (!needs_escape8(x)) {
                memcpy(w, s + i, 8);
                w += 8;
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i++];
        if (!escape_cost[c]) {
            *w++ = (char)c;
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b'; break;
        case '\t': *w++ = 't'; break;
        case '\n': *w++ = 'n'; break;
        case '\f': *w++ = 'f'; break;
        case '\r': *w++ = 'r'; break;
        default:
            *w++ = 'u'; *w++ = '0'; *w++ = '0'; *w++ = hex[c >> 4]; *w++ = hex[c & 15];
        }
    }
    return w;
}

static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static char *
put_uint(char *w, unsigned long long x)  /* two digits per division (timestamps in ns have 19) */
{
    char tmp[24];
    int i = 24;
    while (x >= 100) {
        unsigned r = (unsigned)(x % 100);
        x /= 100;
        tmp[--i] = digit_pairs[2 * r + 1];
        tmp[--i] = digit_pairs[2 * r];
    }
    if (x >= 10) {
        tmp[--i] = digit_pairs[2 * x + 1];
        tmp[--i] = digit_pairs[2 * x];
    }
    else
        tmp[--i] = (char)('0' + x);
    memcpy(w, tmp + i, 24 - i);
    return w + (24 - i);
}

/* records.time_ns(x) as decimal: integer nanoseconds, rounded to the microsecond (round half to even, as Python's
 * round); only called for the times put_time accepted (0.001 <= x < 2**32), whose microseconds are not 0, so the
 * nanoseconds are the microseconds' digits and "000". */
static char *
put_time_ns(char *w, double x)
{
    w = put_uint(w, (unsigned long long)nearbyint(x * 1e6));
    memcpy(w, "000", 3);
    return w + 3;
}

/* A timestamp as orjson writes it (the shortest decimal that reads back as the same double), for the common case
 * of a value in [0.001, 2**32) that is exact to the microsecond; 0 otherwise (the Python encoder takes over).  Below
 * 2**32 a double's spacing is under 1e-6, so the nearest 6-decimal string that reads back, with trailing zeros
 * dropped, is the shortest one. */
static int
put_time(char **wp, double x)
{
    if (!(x >= 0.001 && x < 4294967296.0))
        return 0;
    unsigned long long whole = (unsigned long long)x;
    unsigned long long us = (unsigned long long)((x - (double)whole) * 1e6 + 0.5);
    if (us >= 1000000) {
        whole += 1;
        us -= 1000000;
    }
    /* Does whole.us read back as x?  In long double (64-bit mantissa) this test's own error is far below the margin
     * kept from half a unit in the last place; a value near that edge gets the exact (slower) test. */
    long double d = (long double)whole + (long double)us / 1e6L;
    long double err = d > (long double)x ? d - (long double)x : (long double)x - d;
    long double half_ulp = (long double)(nextafter(x, INFINITY) - x) / 2;
    char buf[40], *b = put_uint(buf, whole);
    *b++ = '.';
    char digits[6];
    for (int i = 5; i >= 0; i--) {
        digits[i] = (char)('0' + us % 10);
        us /= 10;
    }
    int nd = 6;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    memcpy(b, digits, nd);
    b += nd;
    *b = 0;
    if (err > half_ulp * 0.9L) {
        char *end;
        double back = PyOS_string_to_double(buf, &end, NULL);
        if (back != x || *end) {
            PyErr_Clear();
            return 0;
        }
    }
    memcpy(*wp, buf, b - buf);
    *wp += b - buf;
    return 1;
}

static char *
put_str(char *w, const char *s)
{
    size_t n = strlen(s);
    memcpy(w, s, n);
    return w + n;
}

/* An int slot as decimal; -1 (with no error set) when it is not an int in [0, 2**63). */
static long long
slot_count(PyObject *m, int i)
{
    PyObject *v = SLOT(m, i);
    if (v == NULL || !PyLong_CheckExact(v))
        return -1;
    long long x = PyLong_AsLongLong(v);
    if (x < 0) {
        PyErr_Clear();
        return -1;
    }
    return x;
}

#define ENC_ERROR (-1)   /* a Python exception is set */
#define ENC_PYTHON (-2)  /* not the common kind of record, or its head is not cached: the Python encoder writes it */
#define ENC_ROOM (-3)    /* the record may not fit in the room given */

/* The record's opcode and the start of its payload, by opcode (the messages encode_message writes: data and
 * control; rfc6455.opcode_name's names) */
static const char *const opcode_heads[11] = {
    NULL, "\"text\",\"payload_b64\":\"", "\"binary\",\"payload_b64\":\"", NULL, NULL, NULL, NULL, NULL,
    "\"close\",\"payload_b64\":\"", "\"ping\",\"payload_b64\":\"", "\"pong\",\"payload_b64\":\""};

/* A Close's fields after its payload: code (-1: null) and reason (NULL: null; else its UTF-8, escaped as orjson
 * escapes a str), up to the first_frame key; the room is reserved by encode_message (6 bytes per reason byte). */
static char *
put_close(char *w, long long code, const char *reason, Py_ssize_t reason_n)
{
    w = put_str(w, "\",\"complete\":true,\"close_code\":");
    if (code < 0)
        w = put_str(w, "null");
    else
        w = put_uint(w, (unsigned long long)code);
    w = put_str(w, ",\"close_reason\":");
    if (reason == NULL)
        w = put_str(w, "null");
    else {
        *w++ = '"';
        w = put_escaped(w, (const unsigned char *)reason, reason_n);
        *w++ = '"';
    }
    return put_str(w, ",\"first_frame\":");
}

/* A message's close_code (-1: None) and close_reason (NULL: None, else its UTF-8); 0 when the Python encoder must
 * write them (a negative or non-int code, a reason with a lone surrogate, which has no UTF-8). */
static int
close_fields(PyObject *m, long long *code, const char **reason, Py_ssize_t *reason_n)
{
    PyObject *close_code = SLOT(m, M_CLOSE_CODE), *close_reason = SLOT(m, M_CLOSE_REASON);
    if (close_code != Py_None) {
        *code = PyLong_CheckExact(close_code) ? PyLong_AsLongLong(close_code) : -1;
        if (*code < 0) {
            PyErr_Clear();
            return 0;
        }
    }
    if (close_reason != Py_None) {
        *reason = PyUnicode_CheckExact(close_reason) ? PyUnicode_AsUTF8AndSize(close_reason, reason_n) : NULL;
        if (*reason == NULL) {
            PyErr_Clear();
            return 0;
        }
    }
    return 1;
}

/* The cached head of records of conn's direction (see encode_message) into *head: 0, or an ENC_ code. */
static inline int
record_head(PyObject *conn, PyObject *direction, PyObject *heads, PyObject **head)
{
    if (conn == last_conn && direction == last_direction && heads == last_heads) {
        *head = last_head;  /* consecutive records mostly share a connection and direction */
        return 0;
    }
    PyObject *key = PyTuple_New(2);
    if (key == NULL)
        return ENC_ERROR;
    PyObject *id = PyLong_FromVoidPtr(conn);
    if (id == NULL) {
        Py_DECREF(key);
        return ENC_ERROR;
    }
    PyTuple_SET_ITEM(key, 0, id);
    Py_INCREF(direction);
    PyTuple_SET_ITEM(key, 1, direction);
    PyObject *entry = PyDict_GetItemWithError(heads, key);
    Py_DECREF(key);
    if (entry == NULL)
        return PyErr_Occurred() ? ENC_ERROR : ENC_PYTHON;
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || PyTuple_GET_ITEM(entry, 0) != conn
        || !PyBytes_Check(PyTuple_GET_ITEM(entry, 1)))
        return ENC_PYTHON;
    *head = PyTuple_GET_ITEM(entry, 1);
    /* remember it; holding the Conn keeps its address from being reused by another object */
    Py_INCREF(conn);
    Py_INCREF(direction);
    Py_INCREF(*head);
    Py_XSETREF(last_conn, conn);
    Py_XSETREF(last_direction, direction);
    Py_XSETREF(last_head, *head);
    last_heads = heads;
    return 0;
}

/* The room enough for a record (head_n: its head's length, pn: its payload's, t/tn: its text or NULL, reason/
 * reason_n: a Close's reason or NULL); text escaping is counted exactly only when the worst case exceeds room. */
static inline Py_ssize_t
record_size(Py_ssize_t head_n, Py_ssize_t pn, const unsigned char *t, Py_ssize_t tn, const char *reason,
            Py_ssize_t reason_n, Py_ssize_t room)
{
    Py_ssize_t textra = t ? 5 * tn : 0;  /* the most escaping can add */
    Py_ssize_t size = head_n + 16 + 4 * ((pn + 2) / 3) + 400 + (t ? 10 + tn + textra : 0)
                      + (reason ? 2 + 6 * reason_n : 0);
    if (size > room && t != NULL) {
        size -= textra;
        size += escape_extra(t, tn);
    }
    return size;
}

/* The record's first_time .. last_time_ns fields (each written once and copied when the two times are the same);
 * NULL when a time is one the Python encoder must write. */
static inline char *
put_times(char *w, PyObject *t0, PyObject *t1)
{
    int same_time = t1 == t0 || PyFloat_AS_DOUBLE(t1) == PyFloat_AS_DOUBLE(t0);
    w = put_str(w, ",\"first_time\":");
    char *value = w;
    if (!put_time(&w, PyFloat_AS_DOUBLE(t0)))
        return NULL;
    Py_ssize_t value_len = w - value;
    w = put_str(w, ",\"last_time\":");
    if (same_time) {
        memcpy(w, value, value_len);
        w += value_len;
    }
    else if (!put_time(&w, PyFloat_AS_DOUBLE(t1)))
        return NULL;
    w = put_str(w, ",\"first_time_ns\":");
    value = w;
    w = put_time_ns(w, PyFloat_AS_DOUBLE(t0));
    value_len = w - value;
    w = put_str(w, ",\"last_time_ns\":");
    if (same_time) {
        memcpy(w, value, value_len);
        w += value_len;
    }
    else
        w = put_time_ns(w, PyFloat_AS_DOUBLE(t1));
    return w;
}

/* The record's fields from fragments to text (t: NULL for no text), without the closing brace. */
static inline char *
put_record_tail(char *w, long long fragments, PyObject *compressed, long long wire, Py_ssize_t pn,
                const unsigned char *t, Py_ssize_t tn)
{
    w = put_str(w, ",\"fragments\":");
    w = put_uint(w, (unsigned long long)fragments);
    w = put_str(w, compressed == Py_True ? ",\"compressed\":true,\"wire_length\":"
                                         : ",\"compressed\":false,\"wire_length\":");
    w = put_uint(w, (unsigned long long)wire);
    w = put_str(w, ",\"payload_length\":");
    w = put_uint(w, (unsigned long long)pn);
    if (t != NULL) {
        w = put_str(w, ",\"text\":\"");
        w = put_escaped(w, t, tn);
        *w++ = '"';
    }
    return w;
}

/* Write message_record(m) as compact JSON (no newline) at w, which has room bytes; returns the length written or
 * one of the ENC_ codes.  heads maps (id(conn), direction) to (conn, head), head being the record's opening up to
 * and including "opcode":.  With ENC_ROOM, *need is the room that is enough. */
static Py_ssize_t
encode_message(PyObject *m, PyObject *heads, char *w0, Py_ssize_t room, Py_ssize_t *need)
{
    if (message_type == NULL || Py_TYPE(m) != message_type)
        return ENC_PYTHON;
    PyObject *op = SLOT(m, M_OPCODE);
    if (SLOT(m, M_COMPLETE) != Py_True || SLOT(m, M_TRUNCATED) != Py_False || SLOT(m, M_NOTE) != Py_None
        || SLOT(m, M_RAW) != Py_None || SLOT(m, M_APP) != Py_None || !PyLong_CheckExact(op))
        return ENC_PYTHON;  /* application units (M_APP) are written by records.message_line_py */
    long opcode = PyLong_AsLong(op);
    if (opcode != 1 && opcode != 2 && opcode != 8 && opcode != 9 && opcode != 10) {
        PyErr_Clear();
        return ENC_PYTHON;
    }
    long long code = -1;  /* a Close's code and reason (null, null for every other message) */
    const char *reason = NULL;
    Py_ssize_t reason_n = 0;
    if (!close_fields(m, &code, &reason, &reason_n))
        return ENC_PYTHON;
    PyObject *payload = SLOT(m, M_PAYLOAD), *text = SLOT(m, M_TEXT), *compressed = SLOT(m, M_COMPRESSED);
    PyObject *t0 = SLOT(m, M_FIRST_TS), *t1 = SLOT(m, M_LAST_TS);
    if (!PyBytes_CheckExact(payload) || (text != Py_None && !PyUnicode_CheckExact(text))
        || (compressed != Py_True && compressed != Py_False) || !PyFloat_CheckExact(t0) || !PyFloat_CheckExact(t1))
        return ENC_PYTHON;
    long long first = slot_count(m, M_FIRST_FRAME), last = slot_count(m, M_LAST_FRAME);
    long long fragments = slot_count(m, M_FRAGMENTS), wire = slot_count(m, M_WIRE_LENGTH);
    if (first < 0 || last < 0 || fragments < 0 || wire < 0)
        return ENC_PYTHON;
    PyObject *head;
    int got = record_head(SLOT(m, M_CONN), SLOT(m, M_DIRECTION), heads, &head);
    if (got < 0)
        return got;
    const unsigned char *t = NULL;
    Py_ssize_t tn = 0, pn = PyBytes_GET_SIZE(payload);
    if (text != Py_None) {
        /* Message.text is the payload decoded as UTF-8, so the payload bytes are its UTF-8 form (no encoding) */
        t = (const unsigned char *)PyBytes_AS_STRING(payload);
        tn = pn;
    }
    Py_ssize_t size = record_size(PyBytes_GET_SIZE(head), pn, t, tn, reason, reason_n, room);
    if (size > room) {
        *need = size;
        return ENC_ROOM;
    }
    char *w = w0;
    memcpy(w, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head));
    w += PyBytes_GET_SIZE(head);
    w = put_str(w, opcode_heads[opcode]);
    w = put_b64(w, (const unsigned char *)PyBytes_AS_STRING(payload), pn);
    if (code < 0 && reason == NULL)
        w = put_str(w, "\",\"complete\":true,\"close_code\":null,\"close_reason\":null,\"first_frame\":");
    else
        w = put_close(w, code, reason, reason_n);
    w = put_uint(w, (unsigned long long)first);
    w = put_str(w, ",\"last_frame\":");
    w = put_uint(w, (unsigned long long)last);
    if ((w = put_times(w, t0, t1)) == NULL)
        return ENC_PYTHON;
    w = put_record_tail(w, fragments, compressed, wire, pn, t, tn);
    *w++ = '}';
    return w - w0;
}

/* message_line(m, heads) -> bytes | None: one record, or None when the Python encoder must write it. */
static PyObject *
message_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "message_line(message, heads: dict)");
        return NULL;
    }
    char small[4096];
    Py_ssize_t need = 0, n = encode_message(args[0], args[1], small, sizeof small, &need);
    if (n == ENC_ROOM) {  /* a big record: encode into a bytes object of the size needed */
        PyObject *res = PyBytes_FromStringAndSize(NULL, need);
        if (res == NULL)
            return NULL;
        n = encode_message(args[0], args[1], PyBytes_AS_STRING(res), need, &need);
        if (n >= 0) {
            if (_PyBytes_Resize(&res, n) < 0)
                return NULL;
            return res;
        }
        Py_DECREF(res);
    }
    if (n >= 0)
        return PyBytes_FromStringAndSize(small, n);
    if (n == ENC_ERROR)
        return NULL;
    Py_RETURN_NONE;
}

/* message_columns(messages) -> tuple of lists: the Message slots column by column (field_names order), then each
 * message's connection index, client and server.  The Arrow tables' transposition (export/arrow.py) in one pass. */
static PyObject *
message_columns(PyObject *self, PyObject *msgs)
{
    static const char *conn_names[3] = {"index", "client", "server"};
    if (!PyList_Check(msgs)) {
        PyErr_SetString(PyExc_TypeError, "message_columns(messages: list)");
        return NULL;
    }
    if (message_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "message_columns(): configure() was not called");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(msgs);
    PyObject *cols = PyTuple_New(M_NFIELDS + 3), *prev = NULL, *conn_attr[3] = {NULL, NULL, NULL};
    if (cols == NULL)
        return NULL;
    for (int f = 0; f < M_NFIELDS + 3; f++) {
        PyObject *col = PyList_New(n);  /* items NULL until set: a list frees those safely on error */
        if (col == NULL)
            goto error;
        PyTuple_SET_ITEM(cols, f, col);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyList_GET_ITEM(msgs, i);
        if (Py_TYPE(m) != message_type) {
            PyErr_SetString(PyExc_TypeError, "message_columns(): not a Message");
            goto error;
        }
        for (int f = 0; f < M_NFIELDS; f++) {
            PyObject *v = SLOT(m, f);
            if (v == NULL) {
                PyErr_Format(PyExc_AttributeError, "Message.%s is not set", field_names[f]);
                goto error;
            }
            Py_INCREF(v);
            PyList_SET_ITEM(PyTuple_GET_ITEM(cols, f), i, v);
        }
        PyObject *conn = SLOT(m, M_CONN);  /* borrowed: the message in the list holds it */
        if (conn != prev) {
            for (int k = 0; k < 3; k++) {
                PyObject *v = PyObject_GetAttrString(conn, conn_names[k]);
                if (v == NULL)
                    goto error;
                Py_XSETREF(conn_attr[k], v);
            }
            prev = conn;
        }
        for (int k = 0; k < 3; k++) {
            Py_INCREF(conn_attr[k]);
            PyList_SET_ITEM(PyTuple_GET_ITEM(cols, M_NFIELDS + k), i, conn_attr[k]);
        }
    }
    for (int k = 0; k < 3; k++)
        Py_XDECREF(conn_attr[k]);
    return cols;
error:
    for (int k = 0; k < 3; k++)
        Py_XDECREF(conn_attr[k]);
    Py_DECREF(cols);
    return NULL;
}

/* message_buffers(messages) -> tuple | None: the Arrow buffers of the messages table (export/arrow.py's
 * MessageBuffers, in its field order), or None when a message is not of the ordinary kind (a value of another type,
 * out of range, or text that is not UTF-8): arrow.py then builds that batch value by value.  One pass over the
 * messages, no Python object per value. */
#define MB_INTS 5   /* conn index, first_frame, last_frame, fragments, wire_length: int64 each */
#define MB_FLAGS 8  /* opcode, complete, compressed, truncated, text, close_code, close_reason, note: a byte each */
#define MB_VARS 6   /* payload, client, server, direction, close_reason, note: data and int32 offsets each */
#define MB_OUT (4 + 2 * MB_VARS)

typedef struct {
    char *data;
    Py_ssize_t len, cap;
    int32_t *off;
} mb_var;

static PyObject *mb_names[3];  /* "index", "client", "server", interned */

static int  /* 1 appended, 0 too long for int32 offsets, -1 no memory */
mb_append(mb_var *v, Py_ssize_t i, const char *src, Py_ssize_t n)
{
    if (v->len + n > INT32_MAX)
        return 0;
    if (v->len + n > v->cap) {
        Py_ssize_t cap = Py_MAX(2 * v->cap, v->len + n);
        char *d = PyMem_Realloc(v->data, cap);
        if (d == NULL)
            return -1;
        v->data = d;
        v->cap = cap;
    }
    memcpy(v->data + v->len, src, n);
    v->len += n;
    v->off[i + 1] = (int32_t)v->len;
    return 1;
}

static int  /* a str or None (when nullable) appended: 1; 0 not ordinary; -1 error */
mb_text(mb_var *v, Py_ssize_t i, PyObject *s, int nullable)
{
    Py_ssize_t n;
    if (s == Py_None && nullable) {
        v->off[i + 1] = (int32_t)v->len;
        return 1;
    }
    if (s == NULL || !PyUnicode_CheckExact(s))
        return 0;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL) {
        PyErr_Clear();
        return 0;
    }
    return mb_append(v, i, u, n);
}

static int
mb_conn(PyObject *conn, PyObject **fields, long long *index)  /* the connection's index, client, server */
{
    for (int k = 0; k < 3; k++) {
        PyObject *v = PyObject_GetAttr(conn, mb_names[k]);
        if (v == NULL)
            return -1;
        Py_XSETREF(fields[k], v);
    }
    *index = PyLong_CheckExact(fields[0]) ? PyLong_AsLongLong(fields[0]) : -1;
    if (*index < 0)
        PyErr_Clear();
    return 0;
}

static int  /* the fixed-width values of message i: 1 written, 0 not ordinary */
mb_fixed(PyObject *m, Py_ssize_t i, Py_ssize_t n, long long index, char **bufs)
{
    long long v[MB_INTS] = {index, slot_count(m, M_FIRST_FRAME), slot_count(m, M_LAST_FRAME),
                            slot_count(m, M_FRAGMENTS), slot_count(m, M_WIRE_LENGTH)};
    for (int k = 0; k < MB_INTS; k++) {
        if (v[k] < 0) {
            PyErr_Clear();
            return 0;
        }
        ((int64_t *)bufs[0])[k * n + i] = v[k];
    }
    PyObject *ts[2] = {SLOT(m, M_FIRST_TS), SLOT(m, M_LAST_TS)}, *code = SLOT(m, M_CLOSE_CODE);
    for (int k = 0; k < 2; k++) {
        if (ts[k] == NULL || !PyFloat_CheckExact(ts[k]) || !(fabs(PyFloat_AS_DOUBLE(ts[k])) < 9.2e9))
            return 0;
        ((double *)bufs[1])[k * n + i] = PyFloat_AS_DOUBLE(ts[k]);
    }
    long op = slot_count(m, M_OPCODE), c = 0;
    if (op < 0 || op > 15 || code == NULL || (code != Py_None && !PyLong_CheckExact(code))) {
        PyErr_Clear();
        return 0;
    }
    if (code != Py_None) {
        c = PyLong_AsLong(code);
        if (c < INT32_MIN || c > INT32_MAX || (c == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
    }
    ((int32_t *)bufs[3])[i] = (int32_t)c;
    PyObject *f[MB_FLAGS] = {NULL, SLOT(m, M_COMPLETE), SLOT(m, M_COMPRESSED), SLOT(m, M_TRUNCATED), SLOT(m, M_TEXT),
                             code, SLOT(m, M_CLOSE_REASON), SLOT(m, M_NOTE)};
    bufs[2][i] = (char)op;
    for (int k = 1; k < MB_FLAGS; k++) {
        if (f[k] == NULL || (k < 4 && f[k] != Py_True && f[k] != Py_False))
            return 0;
        bufs[2][k * n + i] = k < 4 ? f[k] == Py_True : f[k] != Py_None;
    }
    return 1;
}

static int  /* message i: 1 added, 0 not ordinary, -1 error */
mb_add(PyObject *m, Py_ssize_t i, Py_ssize_t n, char **bufs, mb_var *vars, PyObject **conn_cache, PyObject **fields,
       long long *index)
{
    if (Py_TYPE(m) != message_type)
        return 0;
    PyObject *conn = SLOT(m, M_CONN), *pl = SLOT(m, M_PAYLOAD);
    if (conn == NULL || pl == NULL || !PyBytes_CheckExact(pl))
        return 0;
    if (conn != *conn_cache) {
        if (mb_conn(conn, fields, index) < 0)
            return -1;
        *conn_cache = conn;
    }
    int r = mb_fixed(m, i, n, *index, bufs);
    if (r == 1)
        r = mb_append(&vars[0], i, PyBytes_AS_STRING(pl), PyBytes_GET_SIZE(pl));
    PyObject *texts[MB_VARS - 1] = {fields[1], fields[2], SLOT(m, M_DIRECTION), SLOT(m, M_CLOSE_REASON),
                                    SLOT(m, M_NOTE)};
    for (int k = 0; k < MB_VARS - 1 && r == 1; k++)
        r = mb_text(&vars[k + 1], i, texts[k], k >= 3);
    return r;
}

static Py_ssize_t
mb_payload_size(PyObject *msgs)  /* the payloads' total size; -1: one is not bytes, or over int32 offsets */
{
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(msgs); i++) {
        PyObject *m = PyList_GET_ITEM(msgs, i), *pl;
        if (Py_TYPE(m) != message_type || (pl = SLOT(m, M_PAYLOAD)) == NULL || !PyBytes_CheckExact(pl))
            return -1;
        size += PyBytes_GET_SIZE(pl);
        if (size > INT32_MAX)
            return -1;
    }
    return size;
}

static PyObject *
message_buffers(PyObject *self, PyObject *msgs)
{
    if (!PyList_Check(msgs) || message_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "message_buffers(messages: list) after configure()");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(msgs);
    Py_ssize_t lens[4 + MB_VARS] = {MB_INTS * 8 * n, 2 * 8 * n, MB_FLAGS * n, 4 * n};
    PyObject *out = PyTuple_New(MB_OUT), *cache = NULL, *fields[3] = {NULL, NULL, NULL};
    mb_var vars[MB_VARS];
    memset(vars, 0, sizeof vars);
    char *bufs[4];
    int r = 1;
    if (out == NULL)
        return NULL;
    for (int k = 0; k < 4 + MB_VARS; k++) {  /* the fixed-width buffers, then the offsets of each variable one */
        PyObject *b = PyBytes_FromStringAndSize(NULL, k < 4 ? lens[k] : 4 * (n + 1));
        if (b == NULL)
            goto error;
        PyTuple_SET_ITEM(out, k < 4 ? k : 5 + 2 * (k - 4), b);
        if (k < 4)
            bufs[k] = PyBytes_AS_STRING(b);
        else
            vars[k - 4].off = (int32_t *)PyBytes_AS_STRING(b);
    }
    for (int k = 0; k < MB_VARS; k++)
        vars[k].off[0] = 0;
    vars[0].cap = mb_payload_size(msgs);  /* the payload is written once, in place */
    if (vars[0].cap < 0) {
        r = 0;
        goto error;
    }
    PyObject *payload = PyBytes_FromStringAndSize(NULL, vars[0].cap);
    if (payload == NULL)
        goto error;
    PyTuple_SET_ITEM(out, 4, payload);
    vars[0].data = PyBytes_AS_STRING(payload);
    long long index = -1;
    for (Py_ssize_t i = 0; i < n && r == 1; i++)
        r = mb_add(PyList_GET_ITEM(msgs, i), i, n, bufs, vars, &cache, fields, &index);
    for (int k = 1; k < MB_VARS && r == 1; k++) {
        PyObject *b = PyBytes_FromStringAndSize(vars[k].data, vars[k].len);
        if (b == NULL)
            r = -1;
        else
            PyTuple_SET_ITEM(out, 4 + 2 * k, b);
    }
    if (r == 1)
        goto done;
error:
    Py_CLEAR(out);
    if (r == 0)
        out = Py_NewRef(Py_None);
done:
    for (int k = 1; k < MB_VARS; k++)
        PyMem_Free(vars[k].data);
    for (int k = 0; k < 3; k++)
        Py_XDECREF(fields[k]);
    return out;
}

/* csv_lines(messages, prefix, opcode_names) -> bytes | None: the CSV lines of csv_writer.message_lines (each after
 * prefix, each ending in CRLF), or None when a message is not of the ordinary kind (the Python twin writes the
 * batch).  Floats are written by PyOS_double_to_string, which is repr(). */
#define CSV_NONE 1
static int
csv_text(char **wp, PyObject *v, int quoted)  /* a str field (empty for None); 0: not a plain str */
{
    if (v == Py_None)
        return CSV_NONE;
    if (!PyUnicode_CheckExact(v))
        return 0;
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(v, &n);
    if (u == NULL) {
        PyErr_Clear();  /* lone surrogates: the Python twin escapes them */
        return 0;
    }
    char *w = *wp;
    if (quoted)
        *w++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        if (u[i] == '"' && quoted)
            *w++ = '"';
        *w++ = u[i];
    }
    if (quoted)
        *w++ = '"';
    *wp = w;
    return 1;
}

static Py_ssize_t
csv_text_room(PyObject *v)
{
    Py_ssize_t n = 0;
    if (PyUnicode_CheckExact(v) && PyUnicode_AsUTF8AndSize(v, &n) == NULL) {
        PyErr_Clear();
        n = 0;
    }
    return 2 * n + 2;
}

static int
csv_double(char **wp, PyObject *v)
{
    if (!PyFloat_CheckExact(v))
        return 0;
    char *r = PyOS_double_to_string(PyFloat_AS_DOUBLE(v), 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL) {
        PyErr_Clear();
        return 0;
    }
    size_t n = strlen(r);
    memcpy(*wp, r, n);
    *wp += n;
    PyMem_Free(r);
    return 1;
}

static char *
put_ns(char *w, double x)  /* records.time_ns(x) as decimal */
{
    long long ns;
    if (x > -9.2e9 && x < 9.2e9)
        ns = (long long)nearbyint(x * 1e6) * 1000;
    else
        ns = x > 0 ? LLONG_MAX : LLONG_MIN;
    if (ns < 0) {
        *w++ = '-';
        return put_uint(w, ns == LLONG_MIN ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)-ns);
    }
    return put_uint(w, (unsigned long long)ns);
}

static Py_ssize_t
csv_room(PyObject *m, Py_ssize_t prefix)
{
    PyObject *payload = SLOT(m, M_PAYLOAD);
    if (payload == NULL || !PyBytes_CheckExact(payload) || SLOT(m, M_APP) != Py_None)
        return -1;  /* a message with application units: the Python lines write its app column */
    Py_ssize_t pn = PyBytes_GET_SIZE(payload);
    return prefix + 700 + 4 * ((pn + 2) / 3) + 2 * pn + csv_text_room(SLOT(m, M_CLOSE_REASON))
           + csv_text_room(SLOT(m, M_NOTE)) + csv_text_room(SLOT(m, M_DIRECTION));
}

/* Refresh conn_fields (the connection's index, client, server) when conn is not *conn_cache: 1, 0 when an endpoint
 * is not a short one-byte-kind str (the Python twin writes the line), -1 error. */
static inline int
csv_conn(PyObject *conn, PyObject **conn_cache, PyObject **conn_fields)
{
    static const char *conn_names[3] = {"index", "client", "server"};
    if (conn != *conn_cache) {
        for (int k = 0; k < 3; k++) {
            PyObject *v = PyObject_GetAttrString(conn, conn_names[k]);
            if (v == NULL)
                return -1;
            Py_XSETREF(conn_fields[k], v);
        }
        *conn_cache = conn;
    }
    for (int k = 1; k < 3; k++) {  /* endpoints fit in csv_room's fixed part ("[v6]:port" is at most 47 bytes) */
        if (!PyUnicode_CheckExact(conn_fields[k]) || PyUnicode_GET_LENGTH(conn_fields[k]) > 64
            || PyUnicode_KIND(conn_fields[k]) != PyUnicode_1BYTE_KIND)
            return 0;
    }
    return 1;
}

static int csv_line_rest(char **wp, PyObject *m, unsigned long long fragments);

static int
csv_line(char **wp, PyObject *m, const char *prefix, Py_ssize_t prefix_n, PyObject *names, PyObject **conn_cache,
         PyObject **conn_fields)
{
    char *w = *wp;
    int got = csv_conn(SLOT(m, M_CONN), conn_cache, conn_fields);
    if (got != 1)
        return got;
    long long index = PyLong_CheckExact(conn_fields[0]) ? PyLong_AsLongLong(conn_fields[0]) : -1;
    long long first = slot_count(m, M_FIRST_FRAME), last = slot_count(m, M_LAST_FRAME);
    long long fragments = slot_count(m, M_FRAGMENTS);
    PyObject *op = SLOT(m, M_OPCODE), *code = SLOT(m, M_CLOSE_CODE), *wire = SLOT(m, M_WIRE_LENGTH);
    PyObject *text = SLOT(m, M_TEXT);
    long opcode = PyLong_CheckExact(op) ? PyLong_AsLong(op) : -1;
    if (index < 0 || first < 0 || last < 0 || fragments < 0 || opcode < 0 || opcode > 15 || !PyLong_CheckExact(wire)
        || (code != Py_None && !PyLong_CheckExact(code)) || (text != Py_None && !PyUnicode_CheckExact(text))) {
        PyErr_Clear();
        return 0;
    }
    memcpy(w, prefix, prefix_n);
    w += prefix_n;
    w = put_uint(w, (unsigned long long)index);
    *w++ = ',';
    if (csv_text(&w, conn_fields[1], 0) != 1)
        return 0;
    *w++ = ',';
    if (csv_text(&w, conn_fields[2], 0) != 1)
        return 0;
    *w++ = ',';
    if (csv_text(&w, SLOT(m, M_DIRECTION), 0) != 1)
        return 0;
    *w++ = ',';
    if (csv_text(&w, PyTuple_GET_ITEM(names, opcode), 0) != 1)
        return 0;
    w = put_str(w, SLOT(m, M_COMPLETE) == Py_True ? ",true," : ",false,");
    if (code != Py_None) {
        long long c = PyLong_AsLongLong(code);
        if (c < 0) {
            PyErr_Clear();
            return 0;
        }
        w = put_uint(w, (unsigned long long)c);
    }
    *w++ = ',';
    if (!csv_text(&w, SLOT(m, M_CLOSE_REASON), 1))
        return 0;
    *w++ = ',';
    w = put_uint(w, (unsigned long long)first);
    *w++ = ',';
    w = put_uint(w, (unsigned long long)last);
    *w++ = ',';
    *wp = w;
    return csv_line_rest(wp, m, (unsigned long long)fragments);
}

/* csv_line's second half: from first_time to the end of the line */
static int
csv_line_rest(char **wp, PyObject *m, unsigned long long fragments)
{
    char *w = *wp;
    PyObject *wire = SLOT(m, M_WIRE_LENGTH), *payload = SLOT(m, M_PAYLOAD), *text = SLOT(m, M_TEXT);
    PyObject *t0 = SLOT(m, M_FIRST_TS), *t1 = SLOT(m, M_LAST_TS);
    if (!csv_double(&w, t0))
        return 0;
    *w++ = ',';
    if (!csv_double(&w, t1))
        return 0;
    *w++ = ',';
    w = put_ns(w, PyFloat_AS_DOUBLE(t0));
    *w++ = ',';
    w = put_ns(w, PyFloat_AS_DOUBLE(t1));
    *w++ = ',';
    w = put_uint(w, fragments);
    w = put_str(w, SLOT(m, M_COMPRESSED) == Py_True ? ",true," : ",false,");
    unsigned long long wl = PyLong_AsUnsignedLongLong(wire);
    if (wl == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();  /* beyond 64 bits (hostile declared lengths): capped, as the JSONL does */
        wl = ULLONG_MAX;
    }
    w = put_uint(w, wl);
    *w++ = ',';
    Py_ssize_t pn = PyBytes_GET_SIZE(payload);
    w = put_uint(w, (unsigned long long)pn);
    w = put_str(w, SLOT(m, M_TRUNCATED) == Py_True ? ",true," : ",false,");
    if (!csv_text(&w, SLOT(m, M_NOTE), 1))
        return 0;
    *w++ = ',';
    w = put_b64(w, (const unsigned char *)PyBytes_AS_STRING(payload), pn);
    *w++ = ',';
    if (text != Py_None) {  /* the text is the payload decoded: its UTF-8 is the payload */
        const char *b = PyBytes_AS_STRING(payload);
        *w++ = '"';
        for (Py_ssize_t i = 0; i < pn; i++) {
            if (b[i] == '"')
                *w++ = '"';
            *w++ = b[i];
        }
        *w++ = '"';
    }
    *w++ = ',';  /* the app column: empty without application units */
    *w++ = '\r';
    *w++ = '\n';
    *wp = w;
    return 1;
}

static PyObject *
csv_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || !PyTuple_Check(args[2])
        || PyTuple_GET_SIZE(args[2]) != 16) {
        PyErr_SetString(PyExc_TypeError, "csv_lines(messages: list, prefix: bytes, opcode_names: 16-tuple)");
        return NULL;
    }
    PyObject *msgs = args[0];
    Py_ssize_t n = PyList_GET_SIZE(msgs), prefix_n = PyBytes_GET_SIZE(args[1]), room = 0;
    if (message_type == NULL)
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyList_GET_ITEM(msgs, i);
        Py_ssize_t r = Py_TYPE(m) == message_type ? csv_room(m, prefix_n) : -1;
        if (r < 0)
            Py_RETURN_NONE;
        room += r;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, room), *conn_cache = NULL;
    PyObject *conn_fields[3] = {NULL, NULL, NULL};
    if (out == NULL)
        return NULL;
    char *w = PyBytes_AS_STRING(out);
    int ok = 1;
    for (Py_ssize_t i = 0; i < n && ok == 1; i++)
        ok = csv_line(&w, PyList_GET_ITEM(msgs, i), PyBytes_AS_STRING(args[1]), prefix_n, args[2], &conn_cache,
                      conn_fields);
    for (int k = 0; k < 3; k++)
        Py_XDECREF(conn_fields[k]);
    if (ok != 1) {
        Py_DECREF(out);
        if (ok < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    if (_PyBytes_Resize(&out, w - PyBytes_AS_STRING(out)) < 0)
        return NULL;
    return out;
}

/* encode_messages(events, start, heads, buf, pos) -> (index, pos): JSONL records (each followed by a newline)
 * for events[start:], written into the writable buffer buf from offset pos, up to the first event the Python
 * encoder must handle or that does not fit; index is that event's position (len(events) when all were done). */
static PyObject *
encode_messages(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_Check(args[0]) || !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "encode_messages(events: list, start, heads: dict, buf, pos)");
        return NULL;
    }
    PyObject *events = args[0], *heads = args[2];
    Py_ssize_t i = PyLong_AsSsize_t(args[1]), pos = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[3], &view, PyBUF_WRITABLE) < 0)
        return NULL;
    if (pos < 0 || pos > view.len || i < 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "encode_messages(): start or pos out of range");
        return NULL;
    }
    char *buf = (char *)view.buf;
    Py_ssize_t n = PyList_GET_SIZE(events);
    for (; i < n; i++) {
        Py_ssize_t need, k = encode_message(PyList_GET_ITEM(events, i), heads, buf + pos, view.len - pos - 1, &need);
        if (k < 0) {
            if (k == ENC_ERROR) {
                PyBuffer_Release(&view);
                return NULL;
            }
            break;
        }
        pos += k;
        buf[pos++] = '\n';
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("nn", i, pos);
}

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

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(Message, WsFrame): locate the slots of both event classes."},
    {"scan_messages", (PyCFunction)(void (*)(void))scan_messages, METH_FASTCALL,
     "scan_messages(data, pos, first, frame, ts, out, lane) -> (pos, tail)"},
    {"message_line", (PyCFunction)(void (*)(void))message_line, METH_FASTCALL,
     "message_line(message, heads) -> bytes or None"},
    {"message_columns", (PyCFunction)message_columns, METH_O,
     "message_columns(messages) -> tuple of lists: Message slots column by column, then conn index/client/server"},
    {"message_buffers", (PyCFunction)message_buffers, METH_O,
     "message_buffers(messages) -> tuple of bytes (export/arrow.py MessageBuffers) or None"},
    {"csv_lines", (PyCFunction)(void (*)(void))csv_lines, METH_FASTCALL,
     "csv_lines(messages, prefix, opcode_names) -> bytes or None: csv_writer.message_lines, joined"},
    {"encode_messages", (PyCFunction)(void (*)(void))encode_messages, METH_FASTCALL,
     "encode_messages(events, start, heads, buf, pos) -> (index, pos)"},
    {"pcap_records", (PyCFunction)(void (*)(void))pcap_records, METH_FASTCALL,
     "pcap_records(buf, pos, frame, little, unit, linktype, limit, max_records) -> (records, pos)"},
    {"parse_tcp", (PyCFunction)(void (*)(void))parse_tcp, METH_FASTCALL,
     "parse_tcp(linktype, data) -> the layers.parse_tcp fields as a tuple, or False when the Python parser must decide"},
    {"tcp_parser", (PyCFunction)(void (*)(void))tcp_parser, METH_FASTCALL,
     "tcp_parser(segment_type, fallback) -> parse(linktype, data): segment_type instances, else fallback's result"},
    {"unmask", (PyCFunction)(void (*)(void))unmask, METH_FASTCALL,
     "unmask(data, key) -> bytes: data XOR the repeating 4-byte key"},
    {"packet_builder", (PyCFunction)(void (*)(void))packet_builder, METH_FASTCALL,
     "packet_builder(Packet, Side, Conn, TcpSegment, bases, sides, plain_l3, (c2s, s2c)) -> build"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "wsdissect._speedups", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    init_escape_cost();
    init_b64_pairs();
    mb_names[0] = PyUnicode_InternFromString("index");
    mb_names[1] = PyUnicode_InternFromString("client");
    mb_names[2] = PyUnicode_InternFromString("server");
    if (mb_names[0] == NULL || mb_names[1] == NULL || mb_names[2] == NULL)
        return NULL;
    int_one = PyLong_FromLong(1);
    int_two = PyLong_FromLong(2);
    if (int_one == NULL || int_two == NULL)
        return NULL;
    return PyModule_Create(&module);
}
