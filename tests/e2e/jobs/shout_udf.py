"""A PyFlink Table job with a Python UDF (it runs in the taskmanagers' Python): each word of the lines
given, shouted, and how often it occurs, into CSV files under OUT. Batch mode, so it finishes.

    flink run -py shout_udf.py OUT LINE...
"""
import sys

from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf


@udf(result_type=DataTypes.STRING())
def shout(word: str) -> str:
    return word.upper() + "!"


def main(out: str, lines: list[str]) -> None:
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    t_env.create_temporary_function("shout", shout)
    words = t_env.from_elements([(word,) for line in lines for word in line.split()],
                                DataTypes.ROW([DataTypes.FIELD("word", DataTypes.STRING())]))
    t_env.create_temporary_view("words", words)
    t_env.execute_sql(f"CREATE TABLE shouted (word STRING, n BIGINT) "
                      f"WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')")
    t_env.execute_sql("INSERT INTO shouted SELECT shout(word), COUNT(*) FROM words GROUP BY shout(word)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
