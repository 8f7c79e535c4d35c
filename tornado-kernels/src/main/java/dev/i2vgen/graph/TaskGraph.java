package dev.i2vgen.graph;

import dev.i2vgen.graph.ops.*;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records tasks over symbolic {@link Value}s. Model code builds one of these per stage (text encoder,
 * UNet step, ...) with shapes fixed, then {@link #freeze()}s it into an {@link ImmutableTaskGraph} that a
 * backend compiles into an {@link ExecutionPlan} and runs as often as needed with new inputs.
 * Intermediates are computed in the graph's activation dtype; constants keep their storage dtype
 * (kernels convert F16/BF16 weights on the fly).
 */
public final class TaskGraph {
    private final String name;
    private final DType activation;
    private final List<Value> values = new ArrayList<>();
    private final List<Task> tasks = new ArrayList<>();
    private final Map<String, Value> inputs = new LinkedHashMap<>();
    private final Map<String, Value> outputs = new LinkedHashMap<>();
    private final Map<String, Value> constantsByName = new HashMap<>();
    private final Deque<String> scopes = new ArrayDeque<>();

    public TaskGraph(String name, DType activation) {
        this.name = name;
        this.activation = activation;
    }

    public String name() { return name; }

    public DType activation() { return activation; }

    // ---- leaves ----

    /** A tensor bound on every run (host→device transfer). */
    public Value input(String name, DType dtype, int... shape) {
        if (inputs.containsKey(name)) throw new IllegalArgumentException("graph " + this.name + ": input '" + name + "' declared twice");
        Value v = newValue(name, Value.Kind.INPUT, shape, dtype, null, null);
        inputs.put(name, v);
        return v;
    }

    /** A weight: uploaded once, resident on the device for the plan's lifetime. Same name → same value. */
    public Value constant(String name, Tensor tensor) {
        Value v = constantsByName.get(name);
        if (v != null) return v;
        v = newValue(name, Value.Kind.CONSTANT, tensor.shape(), tensor.dtype(), tensor, null);
        constantsByName.put(name, v);
        return v;
    }

    /** Marks a value as a graph output, readable with {@link ExecutionPlan#read(Value)} after a run. */
    public Value output(String name, Value v) {
        if (outputs.containsKey(name)) throw new IllegalArgumentException("graph " + this.name + ": output '" + name + "' declared twice");
        outputs.put(name, v);
        return v;
    }

    /** Labels the tasks added until the returned scope is closed ("down_blocks.0.resnets.1"). */
    public Scope scope(String label) {
        scopes.push(label);
        return () -> scopes.pop();
    }

    /** A scope; closing it ends the label. */
    public interface Scope extends AutoCloseable {
        @Override void close();
    }

    /** A view with another shape over the same buffer (no task). Works on any value. */
    public Value reshape(Value v, int... shape) {
        int[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) infer = i;
            else known *= s[i];
        }
        if (infer >= 0) s[infer] = (int) (v.numel() / known);
        if (Tensor.numel(s) != v.numel()) {
            throw new IllegalArgumentException("reshape: " + Arrays.toString(v.shape()) + " cannot become " + Arrays.toString(shape));
        }
        return newValue(null, Value.Kind.INTERMEDIATE, s, v.dtype(), null, v);
    }

    // ---- ops ----

    /** Adds a task for {@code op} and returns its output value. Every op helper below goes through here. */
    public Value add(Op op, Value... in) {
        List<Value> list = Arrays.asList(in.clone());
        while (!list.isEmpty() && list.get(list.size() - 1) == null) list = list.subList(0, list.size() - 1);
        int[] shape;
        try {
            shape = op.outputShape(list);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("graph " + name + (scopes.isEmpty() ? "" : " at " + label()) + ": " + e.getMessage(), e);
        }
        Value out = newValue(null, Value.Kind.INTERMEDIATE, shape, op.outputDType(list, activation), null, null);
        tasks.add(new Task(tasks.size(), op, java.util.Collections.unmodifiableList(new ArrayList<>(list)), out, label()));
        return out;
    }

    public Value linear(Value x, Value weight, Value bias) { return add(new Linear(), x, weight, bias); }

    public Value matmul(Value a, Value b, boolean transposeB, float alpha) { return add(new MatMul(transposeB, alpha), a, b); }

    public Value conv2d(Value x, Value weight, Value bias, int stride, int pad) { return add(Conv2d.of(stride, pad), x, weight, bias); }

    public Value conv2d(Value x, Value weight, Value bias, Conv2d params) { return add(params, x, weight, bias); }

    public Value temporalConv(Value x, Value weight, Value bias) { return add(new TemporalConv(), x, weight, bias); }

    /** Frames-first temporal conv: x[B, F, C, H, W] → [B, F, O, H, W] + residual (null for none; needs the bias). */
    public Value temporalConvFramesFirst(Value x, Value weight, Value bias, Value residual) {
        return add(new TemporalConv(true), x, weight, bias, residual);
    }

    public Value groupNorm(Value x, Value gamma, Value beta, int groups, float eps, boolean silu) {
        return add(new GroupNorm(groups, eps, silu), x, gamma, beta);
    }

    /** GroupNorm with the channels on {@code channelAxis} (2 for a frame-major video [B, F, C, h, w]). */
    public Value groupNorm(Value x, Value gamma, Value beta, int groups, float eps, boolean silu, int channelAxis) {
        return add(new GroupNorm(groups, eps, silu, channelAxis), x, gamma, beta);
    }

    public Value layerNorm(Value x, Value gamma, Value beta, float eps) { return add(new LayerNorm(eps), x, gamma, beta); }

    public Value softmax(Value x) { return add(new Softmax(), x); }

    public Value attention(Value q, Value k, Value v, int heads, float scale, boolean causal) {
        return add(new Attention(heads, scale, causal), q, k, v);
    }

    public Value unary(Value x, Unary.Kind kind) { return add(new Unary(kind), x); }

    public Value silu(Value x) { return unary(x, Unary.Kind.SILU); }

    public Value gelu(Value x) { return unary(x, Unary.Kind.GELU); }

    public Value geglu(Value x) { return add(new Geglu(), x); }

    public Value add(Value a, Value b) { return add(new Binary(Binary.Kind.ADD), a, b); }

    public Value sub(Value a, Value b) { return add(new Binary(Binary.Kind.SUB), a, b); }

    public Value mul(Value a, Value b) { return add(new Binary(Binary.Kind.MUL), a, b); }

    public Value div(Value a, Value b) { return add(new Binary(Binary.Kind.DIV), a, b); }

    public Value affine(Value x, float scale, float shift) { return add(new Affine(scale, shift), x); }

    public Value scale(Value x, float s) { return affine(x, s, 0f); }

    public Value clamp(Value x, float min, float max) { return add(new Clamp(min, max), x); }

    public Value upsampleNearest(Value x, int outH, int outW) { return add(new UpsampleNearest(outH, outW), x); }

    public Value concat(int axis, Value... parts) { return add(new Concat(axis), parts); }

    public Value permute(Value x, int... perm) { return add(new Permute(perm.clone()), x); }

    public Value slice(Value x, int axis, int start, int end) { return add(new Slice(axis, start, end), x); }

    public Value timestepEmbedding(Value t, int dim, boolean flipSinToCos, float downscaleFreqShift) {
        return add(new TimestepEmbedding(dim, flipSinToCos, downscaleFreqShift, 1f, 10000), t);
    }

    public Value embedding(Value table, Value ids) { return add(new Embedding(), table, ids); }

    public Value cfgCombine(Value x, float guidance) { return add(new CfgCombine(guidance), x); }

    public Value ddimStep(Value sample, Value modelOutput, Value coefficients, Value noise) {
        return add(new DdimStep(), sample, modelOutput, coefficients, noise);
    }

    /**
     * Σ_i coefficients[i] · terms[i] (see {@link LinearCombination}): coefficients an F32 [k] value, typically an
     * input bound per run; 1..{@value LinearCombination#MAX_TERMS} terms of one shape.
     */
    public Value linearCombination(Value coefficients, Value... terms) {
        Value[] in = new Value[terms.length + 1];
        in[0] = coefficients;
        for (int i = 0; i < terms.length; i++) {
            // add() drops trailing nulls (absent optional inputs): a null term must fail here, not shorten the list
            if (terms[i] == null) throw new IllegalArgumentException("graph " + name + ": linear_combination: term " + i + " is null");
            in[i + 1] = terms[i];
        }
        return add(new LinearCombination(), in);
    }

    /**
     * The first loop step whose {@code x} held a NaN or ±Inf, kept across steps (see {@link NonFiniteFlag}):
     * previous and stepIndex F32 [1] values, typically a loop-carried input and an input bound per run.
     */
    public Value nonFiniteFlag(Value x, Value previous, Value stepIndex) {
        return add(new NonFiniteFlag(), x, previous, stepIndex);
    }

    public Value cast(Value x, DType target) { return add(new Cast(target), x); }

    // ---- freezing ----

    /** An immutable snapshot of what was recorded; the builder may go on recording afterwards. */
    public ImmutableTaskGraph freeze() {
        if (outputs.isEmpty()) throw new IllegalStateException("graph " + name + " has no outputs");
        return new ImmutableTaskGraph(name, activation, List.copyOf(values), List.copyOf(tasks),
                Map.copyOf(inputs), Map.copyOf(outputs));
    }

    private String label() {
        if (scopes.isEmpty()) return "";
        List<String> parts = new ArrayList<>(scopes);
        java.util.Collections.reverse(parts);
        return String.join(".", parts);
    }

    private Value newValue(String name, Value.Kind kind, int[] shape, DType dtype, Tensor constant, Value alias) {
        Value v = new Value(values.size(), name, kind, shape, dtype, constant, alias);
        values.add(v);
        return v;
    }
}
