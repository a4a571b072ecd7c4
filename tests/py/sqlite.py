"""Runs one SQL statement on an archive's index with Python's sqlite3, an
independent reader and writer of the file, and prints its rows: sqlite.py DB SQL"""
import sqlite3
import sys

connection = sqlite3.connect(sys.argv[1])
for row in connection.execute(sys.argv[2]):
    print(*row)
connection.commit()
