/* wsdissect._speedups: the optional C accelerators (wsdissect/speedups.py loads them; docs/architecture.md lists
 * what each does and its pure-Python twin).  Every function takes only the cases that need no judgement and hands
 * everything else back to its twin, which stays the reference; none prints, reads files or raises on protocol
 * content.  This file is the module: the includes, its parts (the csrc directory, one translation unit: setup.py compiles
 * this file alone), the method table and the module's init.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include <limits.h>

/* The parts, in dependency order (each may use the static helpers of the parts before it). */
#include "csrc/lane.c"
#include "csrc/records.c"
#include "csrc/capture.c"
#include "csrc/json_rows.c"
#include "csrc/tree_text.c"
#include "csrc/list_line.c"
#include "csrc/packet_builder.c"

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
