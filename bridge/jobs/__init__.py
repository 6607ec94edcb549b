"""Jobs: audio and options in, files and a ChangeSet out. Jobs never talk to REAPER."""
