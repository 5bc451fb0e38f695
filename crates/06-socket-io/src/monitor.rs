//! A monitor: a console on a local TCP port that lists a running
//! program's tasks and cancels one, as aiomonitor does for asyncio.
