"""A PySpark application: counts the words of the lines given, on the cluster's executors, and prints
`word count` a line, then how many distinct containers ran its tasks (`executors N`).

    spark-submit spark_word_count.py LINE...
"""
import socket
import sys
from operator import add

from pyspark.sql import SparkSession


def main(lines: list[str]) -> None:
    spark = SparkSession.builder.appName("spark-word-count").getOrCreate()
    context = spark.sparkContext
    counts = (context.parallelize(lines, 4).flatMap(str.split).map(lambda word: (word, 1)).reduceByKey(add)
              .collect())
    for word, count in sorted(counts):
        print(f"{word} {count}")
    hosts = context.parallelize(range(16), 16).map(lambda _: socket.gethostname()).distinct().count()
    print(f"executors {hosts}")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
