"""How callables, arguments and results cross to the workers: pickle by reference, cloudpickle by value."""

from __future__ import annotations

import pickle
import sys
from typing import Any

try:
    import cloudpickle as _cloudpickle  # type: ignore[import]
except ImportError:  # optional: only lambdas, nested functions and __main__ without a file need it
    _cloudpickle = None


def have_cloudpickle() -> bool:
    return _cloudpickle is not None


def _main_is_importable() -> bool:
    main = sys.modules.get("__main__")
    return main is not None and (getattr(main, "__file__", None) is not None)


def dumps_call(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """Pickles (fn, args, kwargs) for a worker; TypeError, saying what to do, when that cannot be done."""
    call = (fn, args, kwargs)
    by_value_needed = getattr(fn, "__module__", None) == "__main__" and not _main_is_importable()
    if not by_value_needed:
        try:
            return pickle.dumps(call, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            if _cloudpickle is None:
                raise TypeError(
                    f"cannot send {fn!r} to the pool's workers: only module-level functions travel by "
                    f"reference ({error}); install cloudpickle (apt install python3-cloudpickle, or "
                    f"pip install cloudpickle) to send lambdas and nested functions by value"
                ) from error
    elif _cloudpickle is None:
        raise TypeError(
            f"cannot send {fn!r} to the pool's workers: it is defined in an interactive __main__ that "
            f"workers cannot import; define it in a module, or install cloudpickle"
        )
    assert _cloudpickle is not None
    return bytes(_cloudpickle.dumps(call, protocol=pickle.HIGHEST_PROTOCOL))
