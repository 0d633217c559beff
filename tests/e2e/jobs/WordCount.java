import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.util.Collector;

/**
 * Counts the words of a fixed text. Each final count is published as the job accumulator
 * "word:<word>", which Flink's REST API shows under GET /jobs/<id>/accumulators.
 */
public class WordCount {
    static final String[] TEXT = {
        "to be or not to be",
        "that is the question",
        "flink is to be run on the swarm",
    };

    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH); // bounded: one final count per word
        env.fromData(TEXT)
            .flatMap((String line, Collector<Tuple2<String, Long>> out) -> {
                for (String word : line.split(" ")) {
                    out.collect(Tuple2.of(word, 1L));
                }
            })
            .returns(Types.TUPLE(Types.STRING, Types.LONG))
            .keyBy(pair -> pair.f0)
            .sum(1)
            .addSink(new AccumulatorSink());
        env.execute("wordcount");
    }

    static class AccumulatorSink extends RichSinkFunction<Tuple2<String, Long>> {
        @Override
        public void invoke(Tuple2<String, Long> count, Context context) {
            getRuntimeContext().addAccumulator("word:" + count.f0, new LongCounter(count.f1));
        }
    }
}
