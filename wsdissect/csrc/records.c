/* Part of wsdissect/_speedups.c, which #includes it (one translation unit: the parts share the static helpers and
 * tables of the parts before them); not compiled on its own.  This part: export records: message_line,
 * encode_messages, csv_lines, message_columns/buffers (export/). */
/*
 * message_line / encode_messages: message_record(m) as compact JSON for the common record (a complete text,
 *   binary or control message with no note or truncation, and an ordinary timestamp); anything else is left to
 *   the Python encoder.  encode_messages writes a run of JSONL records straight into the writer's buffer.
 */

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

/* *obj* as a long long when it is an exact int that fits, else 0 */
static int
exact_ll(PyObject *obj, long long *v)
{
    if (!PyLong_CheckExact(obj))
        return 0;
    int overflow;
    *v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    return !overflow && !(*v == -1 && PyErr_Occurred());
}

/* v in decimal, with its sign */
static char *
put_int(char *w, long long v)
{
    if (v < 0) {
        *w++ = '-';
        return put_uint(w, 0ULL - (unsigned long long)v);
    }
    return put_uint(w, (unsigned long long)v);
}


/* f"{x:.6f}" into w: exactly rounded (half to even) from the double's binary value for 0 <= x < 2**32, as Python's
 * dtoa does; other values through PyOS_double_to_string.  NULL when the text would be too long (or no memory). */
static char *
put_seconds6(char *w, double x)
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
