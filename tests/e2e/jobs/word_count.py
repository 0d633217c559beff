"""A PyFlink DataStream job whose functions are Python lambdas (they run in the taskmanagers' Python):
counts the words of the lines given into text files under OUT, a `word count` a line. Batch mode, so
it finishes.

    flink run -py word_count.py OUT LINE...
"""
import sys

from pyflink.common import Encoder, Types
from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSink


def main(out: str, lines: list[str]) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    (env.from_collection(lines, type_info=Types.STRING())
        .flat_map(lambda line: [(word, 1) for word in line.split()],
                  output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .map(lambda pair: f"{pair[0]} {pair[1]}", output_type=Types.STRING())
        .sink_to(FileSink.for_row_format(out, Encoder.simple_string_encoder()).build()))
    env.execute("python-word-count")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
