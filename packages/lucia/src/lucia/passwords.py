"""Password hashing: the hasher protocol, the default Argon2id hasher and the limits.

::

    from lucia.passwords import Argon2idHasher

    auth = Lucia(adapter=adapter, password_hasher=Argon2idHasher(memory_cost=65536, time_cost=3))
"""

from lucia._password import Argon2idHasher, PasswordHasher
from lucia._validation import MAX_PASSWORD_LENGTH

__all__ = ["MAX_PASSWORD_LENGTH", "Argon2idHasher", "PasswordHasher"]
