"""pulumi-random: values the provider computes on the machine, computed here the same way."""

from __future__ import annotations

import base64
import secrets
import string

from infra.offline.registry import Created, Ctx, translator


@translator("random:index/randomPassword:RandomPassword")
def random_password(ctx: Ctx) -> Created:
    i = ctx.inputs
    length = int(i.get("length", 16))
    alphabet = ""
    if i.get("upper", True):
        alphabet += string.ascii_uppercase
    if i.get("lower", True):
        alphabet += string.ascii_lowercase
    if i.get("numeric", True):
        alphabet += string.digits
    if i.get("special", True):
        alphabet += i.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    return Created("none", {"result": value, "bcryptHash": ""}, note="random value made on this machine")


@translator("random:index/randomId:RandomId")
def random_id(ctx: Ctx) -> Created:
    raw = secrets.token_bytes(int(ctx.inputs.get("byteLength", 8)))
    prefix = str(ctx.inputs.get("prefix") or "")
    b64 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    outputs = {"hex": prefix + raw.hex(), "dec": prefix + str(int.from_bytes(raw)), "b64Url": prefix + b64}
    outputs["b64Std"] = prefix + base64.b64encode(raw).decode()
    return Created(b64, outputs, note="random value made on this machine")
