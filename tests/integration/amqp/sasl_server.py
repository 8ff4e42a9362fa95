# SPDX-License-Identifier: Apache-2.0
"""Server-side SASL PLAIN / EXTERNAL / ANONYMOUS for Debian's python3-qpid-proton 0.37.

Debian builds proton without Cyrus SASL, so a proton *server* offers only ANONYMOUS and
EXTERNAL. install() registers (through proton's exported pnx_sasl_* plugin API, via ctypes)
a default SASL implementation that checks PLAIN against a dict, takes EXTERNAL from the TLS
client certificate and optionally allows ANONYMOUS. Server side only: do not make proton
client connections in the same process afterwards.
"""
import ctypes as C

_lib = C.CDLL('libqpid-proton-core.so.10')      # the instance the proton module loaded
_T = C.c_void_p
_POSTED_MECHANISMS, _POSTED_OUTCOME = 2, 7      # enum pnx_sasl_state


class _Bytes(C.Structure):
    _fields_ = [('size', C.c_size_t), ('start', C.c_void_p)]


_lib.pnx_sasl_set_desired_state.argtypes = [_T, C.c_int]
_lib.pnx_sasl_set_succeeded.argtypes = [_T, C.c_void_p, C.c_char_p]
_lib.pnx_sasl_set_failed.argtypes = [_T]
_lib.pnx_sasl_get_external_username.argtypes = [_T]
_lib.pnx_sasl_get_external_username.restype = C.c_char_p
_lib.pnx_sasl_set_default_implementation.argtypes = [C.c_void_p]

_fn = C.CFUNCTYPE
_VOID, _BOOL = _fn(None, _T), _fn(C.c_bool, _T)
_RESP = _fn(None, _T, C.POINTER(_Bytes))
_CODE = _fn(C.c_ssize_t, _T, _Bytes, C.POINTER(_Bytes))


class _Impl(C.Structure):       # pnx_sasl_implementation (proton/sasl_plugin.h)
    _fields_ = [('free', _VOID), ('list_mechanisms', _fn(C.c_void_p, _T)),
                ('init_server', _BOOL), ('init_client', _BOOL), ('prepare_write', _VOID),
                ('process_init', _fn(None, _T, C.c_char_p, C.POINTER(_Bytes))),
                ('process_response', _RESP), ('process_mechanisms', _fn(C.c_bool, _T, C.c_char_p)),
                ('process_challenge', _RESP), ('process_outcome', _RESP),
                ('can_encrypt', _BOOL), ('max_encrypt_size', _fn(C.c_ssize_t, _T)),
                ('encode', _CODE), ('decode', _CODE)]


_keep = []      # ctypes objects proton points to
_names = {}     # proton keeps the user name pointer: keep it alive per transport


def install(users, allow_anonymous=False):
    """users: dict user -> password (may be empty: EXTERNAL / ANONYMOUS only)."""
    mechs = b' '.join([b'PLAIN'] * bool(users) + [b'EXTERNAL'] + [b'ANONYMOUS'] * allow_anonymous)
    mechs = C.create_string_buffer(mechs)

    def init_server(t):
        _lib.pnx_sasl_set_desired_state(t, _POSTED_MECHANISMS)
        return True

    def process_init(t, mech, recv):
        data = C.string_at(recv.contents.start, recv.contents.size) if recv.contents.size else b''
        who = None
        if mech == b'PLAIN':
            parts = data.split(b'\0')
            if len(parts) == 3 and users.get(parts[1].decode(errors='replace')) == \
                    parts[2].decode(errors='replace'):
                who = parts[1]
        elif mech == b'EXTERNAL':
            who = _lib.pnx_sasl_get_external_username(t)
        elif mech == b'ANONYMOUS' and allow_anonymous:
            who = b'anonymous'
        if who:
            _names[t] = C.create_string_buffer(who)
            _lib.pnx_sasl_set_succeeded(t, _names[t], None)
        else:
            _lib.pnx_sasl_set_failed(t)
        _lib.pnx_sasl_set_desired_state(t, _POSTED_OUTCOME)

    nop = _RESP(lambda t, r: None)
    impl = _Impl(_VOID(lambda t: _names.pop(t, None) and None),
                 _fn(C.c_void_p, _T)(lambda t: C.addressof(mechs)),
                 _BOOL(init_server), _BOOL(lambda t: False), _VOID(lambda t: None),
                 _fn(None, _T, C.c_char_p, C.POINTER(_Bytes))(process_init),
                 nop, _fn(C.c_bool, _T, C.c_char_p)(lambda t, m: False), nop, nop,
                 _BOOL(lambda t: False), _fn(C.c_ssize_t, _T)(lambda t: 0),
                 _CODE(lambda t, i, o: 0), _CODE(lambda t, i, o: 0))
    _keep.extend([mechs, impl, nop])
    _lib.pnx_sasl_set_default_implementation(C.byref(impl))
