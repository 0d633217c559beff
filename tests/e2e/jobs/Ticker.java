import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;

/**
 * An unbounded job: counts up forever, about 100 numbers a second, keyed into 4 running sums.
 * Day-two tests start it before a change and check afterwards that it still runs, unrestarted.
 */
public class Ticker {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(0, Long.MAX_VALUE)
            .map(new Slow())
            .keyBy(n -> n % 4)
            .sum(0)
            .addSink(new DiscardingSink<>());
        env.execute("ticker");
    }

    static class Slow extends RichMapFunction<Long, Long> {
        @Override
        public Long map(Long n) throws Exception {
            Thread.sleep(10);
            return n;
        }
    }
}
