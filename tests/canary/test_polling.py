"""The one wait helper: ready at once, ready after a few tries, given up when what it waits on dies or time is up."""

from canary.polling import wait_until


class Tries:
    """A condition true from its n-th try on, counting the tries."""

    def __init__(self, ready_at: int):
        self.ready_at, self.count = ready_at, 0

    def __call__(self) -> bool:
        self.count += 1
        return self.count >= self.ready_at


def test_a_condition_already_true_is_asked_once():
    tries = Tries(1)
    assert wait_until(tries, timeout_s=60) and tries.count == 1


def test_a_condition_is_asked_again_until_it_holds():
    tries = Tries(4)
    assert wait_until(tries, timeout_s=60, every_s=0.001) and tries.count == 4


def test_a_dead_waitee_ends_the_wait_at_once_without_waiting_out_the_time():
    tries = Tries(10**9)
    assert not wait_until(tries, timeout_s=3600, every_s=0.001, alive=lambda: tries.count < 3)
    assert tries.count == 3


def test_a_condition_that_never_holds_gives_up_when_the_time_is_up_after_a_last_try():
    tries = Tries(10**9)
    assert not wait_until(tries, timeout_s=0.05, every_s=0.01)
    assert tries.count >= 2
