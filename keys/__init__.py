"""Ed25519 identities: key ids, domain-separated signing, encrypted keystores."""

from .errors import BadPassphrase, BadSignature, KeyError_, KeystoreError
from .identity import Identity, PublicKey, key_id_for
from .keystore import load_keystore, save_keystore
from .signing import Purpose, signing_message, verify_signature

__all__ = [
    "BadPassphrase",
    "BadSignature",
    "Identity",
    "KeyError_",
    "KeystoreError",
    "PublicKey",
    "Purpose",
    "key_id_for",
    "load_keystore",
    "save_keystore",
    "signing_message",
    "verify_signature",
]
