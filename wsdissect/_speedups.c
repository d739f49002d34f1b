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
    int i = 24;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    tb_raw(b, tmp + i, 24 - i);
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

/* Seconds as render.tree.seconds spells them: six decimals then 000; 0 when the double could not be formatted. */
static int
tb_seconds(TreeBuf *b, double x)
{
    char *s = PyOS_double_to_string(x, 'f', 6, 0, NULL);
    if (s == NULL)
        return 0;
    tb_raw(b, s, (Py_ssize_t)strlen(s));
    PyMem_Free(s);
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
    int ok = PyLong_CheckExact(v);
    if (ok) {
        int overflow = 0;
        *out = PyLong_AsLongLongAndOverflow(v, &overflow);
        ok = !overflow && *out > -(1LL << 58) && *out < (1LL << 58);
    }
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
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Frame Number: ");
    tb_int(b, h->frame);
    tb_end(b);
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
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Source Port: ");
    tb_int(b, h->sport);
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Destination Port: ");
    tb_int(b, h->dport);
    tb_end(b);
    if (h->has_index) {
        tb_begin(b, TH_FORK);
        TB_LIT(b, "[Stream index: ");
        tb_int(b, h->index);
        TB_LIT(b, "]");
        tb_end(b);
    }
    tb_begin(b, TH_FORK);
    TB_LIT(b, "[TCP Segment Len: ");
    tb_int(b, h->plen);
    TB_LIT(b, "]");
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Sequence Number: ");
    tb_int(b, h->rseq);
    TB_LIT(b, "    (relative sequence number)");
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Sequence Number (raw): ");
    tb_int(b, h->seq);
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Acknowledgment Number: ");
    tb_int(b, h->flags & 16 ? h->rack : h->ack);
    if (h->flags & 16)
        TB_LIT(b, "    (relative ack number)");
    tb_end(b);
    tb_begin(b, TH_FORK);
    TB_LIT(b, "Acknowledgment number (raw): ");
    tb_int(b, h->ack);
    tb_end(b);
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
    tb_begin(b, TH_END);
    TB_LIT(b, "Window: ");
    tb_int(b, h->window);
    tb_end(b);
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

/* *obj* as a long long when it is an exact int that fits, else 0 */
static int
lc_int(PyObject *obj, long long *v)
{
    if (!PyLong_CheckExact(obj))
        return 0;
    int overflow;
    *v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    return !overflow && !(*v == -1 && PyErr_Occurred());
}

static char *
lc_put_int(char *w, long long v)
{
    if (v < 0) {
        *w++ = '-';
        return put_uint(w, 0ULL - (unsigned long long)v);
    }
    return put_uint(w, (unsigned long long)v);
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
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !lc_int(PyTuple_GET_ITEM(pair, 0), &lc_flag_bits[i])
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
            if (!lc_int(*(PyObject **)((char *)ev + lf_offsets[0]), &op) || op < 0 || op > 15
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
    if (!lc_int(LP(p, LP_SPORT), &sport) || !lc_int(LP(p, LP_DPORT), &dport) || !lc_int(LP(p, LP_FLAGS), &flags)
            || !lc_int(rel_seq == Py_None ? LP(p, LP_SEQ) : rel_seq, &seq)
            || ((flags & 16) && !lc_int(rel_ack != Py_None ? rel_ack : LP(p, LP_ACK), &ack))
            || !lc_int(scaled == Py_None ? LP(p, LP_WINDOW) : scaled, &win) || !lc_int(LP(p, LP_PAYLOAD_LEN), &len))
        return 0;
    char *w = lc_put_int(*wp, sport);
    memcpy(w, " \x01 ", 3);
    w = lc_put_int(w + 3, dport);
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
    w = lc_put_int(w + 6, seq);
    if (flags & 16) {
        memcpy(w, " Ack=", 5);
        w = lc_put_int(w + 5, ack);
    }
    memcpy(w, " Win=", 5);
    w = lc_put_int(w + 5, win);
    memcpy(w, " Len=", 5);
    *wp = lc_put_int(w + 5, len);
    return 1;
}

/* f"{x:.6f}" into w: exactly rounded (half to even) from the double's binary value for 0 <= x < 2**32, as Python's
 * dtoa does; other values through PyOS_double_to_string.  NULL when the text would be too long (or no memory). */
static char *
lc_put_seconds(char *w, double x)
{
    if ((x > 0 || (x == 0 && !signbit(x))) && x < 4294967296.0) {
        int k;
        unsigned long long m = (unsigned long long)ldexp(frexp(x, &k), 53), q = 0;  /* x = m / 2**(53 - k) */
        int s = 53 - k;
        if (x != 0 && s < 120) {
            unsigned __int128 n = (unsigned __int128)m * 1000000u, half = (unsigned __int128)1 << (s - 1);
            q = (unsigned long long)(n >> s);
            unsigned __int128 r = n - ((unsigned __int128)q << s);
            q += r > half || (r == half && (q & 1));
        }
        w = put_uint(w, q / 1000000);
        *w++ = '.';
        unsigned frac = (unsigned)(q % 1000000);
        for (int i = 5; i >= 0; i--, frac /= 10)
            w[i] = (char)('0' + frac % 10);
        return w + 6;
    }
    char *text = PyOS_double_to_string(x, 'f', 6, 0, NULL);
    if (text == NULL) {
        PyErr_Clear();
        return NULL;
    }
    size_t len = strlen(text);
    if (len <= 40)
        memcpy(w, text, len);
    PyMem_Free(text);
    return len <= 40 ? w + len : NULL;
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
            || !lc_int(LP(p, LP_FRAME), &frame) || !lc_int(LP(p, LP_WIRE_LEN), &wire_len))
        Py_RETURN_NONE;
    char buf[LC_INFO_MAX + 4 * LC_TEXT_MAX + 256], num[48], *w = buf, *end;
    Py_ssize_t cols = ls > ld ? ls : ld;
    cols = cols > 15 ? cols : 15;
    end = lc_put_int(num, frame);
    w = lc_right(w, num, end - num, 6);
    *w++ = ' ';
    if ((end = lc_put_seconds(num, PyFloat_AS_DOUBLE(ts) - t0)) == NULL)
        Py_RETURN_NONE;
    w = lc_right(w, num, end - num, 10);
    *w++ = ' ';
    w = lc_left(w, src, ls, cols);
    *w++ = ' ';
    w = lc_left(w, dst, ld, cols);
    memcpy(w, ws ? " WebSocket " : " TCP       ", 11);
    end = lc_put_int(num, wire_len);
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
    {"json_indent", (PyCFunction)(void (*)(void))json_indent, METH_FASTCALL,
     "json_indent(text, limit) -> bytes or None: render/text.py's indented JSON (first limit characters, UTF-8)"},
    {"text_row", (PyCFunction)(void (*)(void))text_row, METH_FASTCALL,
     "text_row(text, payload, limit, open, close, indent) -> bytes or None: a follow row of a plain text message"},
    {"text_rows", (PyCFunction)(void (*)(void))text_rows, METH_FASTCALL,
     "text_rows(events, start, head, rules, frame, batch) -> index: text_row for a run of plain text messages"},
    {"tree_configure", (PyCFunction)tree_configure, METH_O,
     "tree_configure(flag_names): render.packets.tcp_flags's ((bit, name), ...) table, before tree_head"},
    {"tree_head", (PyCFunction)(void (*)(void))tree_head, METH_FASTCALL,
     "tree_head(p, prev, t0, fork, end, width) -> str or None: render.tree.packet_head's text"},
    {"tree_leaves", (PyCFunction)(void (*)(void))tree_leaves, METH_FASTCALL,
     "tree_leaves(text, fork, end, room, limit) -> str or None: render.nodes.Pen.leaves_text's text"},
    {"tree_frame", (PyCFunction)(void (*)(void))tree_frame, METH_FASTCALL,
     "tree_frame(f, msg, pretty_fn, memo, deflate, guides, width, lines, max_text) -> (str, str, str) or None"},
    {"list_configure", (PyCFunction)(void (*)(void))list_configure, METH_FASTCALL,
     "list_configure(Packet, WsFrame, Message, refused, frame_infos, flag_names): what list_line reads"},
    {"list_line", (PyCFunction)(void (*)(void))list_line, METH_FASTCALL,
     "list_line(events, t0, width, styles) -> the packet list line of a common packet, or None"},
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
