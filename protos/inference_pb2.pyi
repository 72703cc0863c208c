from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SentimentRequest(_message.Message):
    __slots__ = ("texts", "aspects")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    aspects: bool
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., aspects: bool = ...) -> None: ...

class AspectMention(_message.Message):
    __slots__ = ("aspect", "sentence", "sentence_index", "confidence", "label", "score")
    ASPECT_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    aspect: str
    sentence: str
    sentence_index: int
    confidence: float
    label: str
    score: float
    def __init__(self, aspect: _Optional[str] = ..., sentence: _Optional[str] = ..., sentence_index: _Optional[int] = ..., confidence: _Optional[float] = ..., label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class SentimentResult(_message.Message):
    __slots__ = ("label", "score", "probabilities", "truncated", "chunks", "language", "supported", "aspects")
    class ProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SUPPORTED_FIELD_NUMBER: _ClassVar[int]
    ASPECTS_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    probabilities: _containers.ScalarMap[str, float]
    truncated: bool
    chunks: int
    language: str
    supported: bool
    aspects: _containers.RepeatedCompositeFieldContainer[AspectMention]
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ..., probabilities: _Optional[_Mapping[str, float]] = ..., truncated: bool = ..., chunks: _Optional[int] = ..., language: _Optional[str] = ..., supported: bool = ..., aspects: _Optional[_Iterable[_Union[AspectMention, _Mapping]]] = ...) -> None: ...

class SentimentResponse(_message.Message):
    __slots__ = ("results", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SentimentResult]
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[SentimentResult, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class Vector(_message.Message):
    __slots__ = ("values", "truncated", "chunks")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    truncated: bool
    chunks: int
    def __init__(self, values: _Optional[_Iterable[float]] = ..., truncated: bool = ..., chunks: _Optional[int] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("vectors", "dimensions")
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    vectors: _containers.RepeatedCompositeFieldContainer[Vector]
    dimensions: int
    def __init__(self, vectors: _Optional[_Iterable[_Union[Vector, _Mapping]]] = ..., dimensions: _Optional[int] = ...) -> None: ...

class ChurnRequest(_message.Message):
    __slots__ = ("features",)
    class FeaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    features: _containers.ScalarMap[str, float]
    def __init__(self, features: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Contribution(_message.Message):
    __slots__ = ("feature", "value", "contribution")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    feature: str
    value: float
    contribution: float
    def __init__(self, feature: _Optional[str] = ..., value: _Optional[float] = ..., contribution: _Optional[float] = ...) -> None: ...

class ChurnResponse(_message.Message):
    __slots__ = ("probability", "bucket", "top_contributions")
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    probability: float
    bucket: str
    top_contributions: _containers.RepeatedCompositeFieldContainer[Contribution]
    def __init__(self, probability: _Optional[float] = ..., bucket: _Optional[str] = ..., top_contributions: _Optional[_Iterable[_Union[Contribution, _Mapping]]] = ...) -> None: ...

class PricingRequest(_message.Message):
    __slots__ = ("cost", "current_price", "current_quantity", "min_price", "max_price", "max_change", "allow_below_cost", "inventory", "competitor_price", "reference_competitor_price", "segment", "elasticity", "objective")
    COST_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_CHANGE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BELOW_COST_FIELD_NUMBER: _ClassVar[int]
    INVENTORY_FIELD_NUMBER: _ClassVar[int]
    COMPETITOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_COMPETITOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    cost: float
    current_price: float
    current_quantity: float
    min_price: float
    max_price: float
    max_change: float
    allow_below_cost: bool
    inventory: float
    competitor_price: float
    reference_competitor_price: float
    segment: int
    elasticity: float
    objective: str
    def __init__(self, cost: _Optional[float] = ..., current_price: _Optional[float] = ..., current_quantity: _Optional[float] = ..., min_price: _Optional[float] = ..., max_price: _Optional[float] = ..., max_change: _Optional[float] = ..., allow_below_cost: bool = ..., inventory: _Optional[float] = ..., competitor_price: _Optional[float] = ..., reference_competitor_price: _Optional[float] = ..., segment: _Optional[int] = ..., elasticity: _Optional[float] = ..., objective: _Optional[str] = ...) -> None: ...

class GuardRails(_message.Message):
    __slots__ = ("cost", "min_price", "max_price", "max_step", "min_margin")
    COST_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_STEP_FIELD_NUMBER: _ClassVar[int]
    MIN_MARGIN_FIELD_NUMBER: _ClassVar[int]
    cost: float
    min_price: float
    max_price: float
    max_step: float
    min_margin: float
    def __init__(self, cost: _Optional[float] = ..., min_price: _Optional[float] = ..., max_price: _Optional[float] = ..., max_step: _Optional[float] = ..., min_margin: _Optional[float] = ...) -> None: ...

class SalesPeriod(_message.Message):
    __slots__ = ("price", "units", "days", "age_days")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    price: float
    units: float
    days: float
    age_days: float
    def __init__(self, price: _Optional[float] = ..., units: _Optional[float] = ..., days: _Optional[float] = ..., age_days: _Optional[float] = ...) -> None: ...

class LivePricingRequest(_message.Message):
    __slots__ = ("price", "rails", "sales", "competitor_price", "reference_competitor_price", "inventory", "elasticity", "explore", "seed")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    RAILS_FIELD_NUMBER: _ClassVar[int]
    SALES_FIELD_NUMBER: _ClassVar[int]
    COMPETITOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_COMPETITOR_PRICE_FIELD_NUMBER: _ClassVar[int]
    INVENTORY_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_FIELD_NUMBER: _ClassVar[int]
    EXPLORE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    price: float
    rails: GuardRails
    sales: _containers.RepeatedCompositeFieldContainer[SalesPeriod]
    competitor_price: float
    reference_competitor_price: float
    inventory: float
    elasticity: float
    explore: bool
    seed: int
    def __init__(self, price: _Optional[float] = ..., rails: _Optional[_Union[GuardRails, _Mapping]] = ..., sales: _Optional[_Iterable[_Union[SalesPeriod, _Mapping]]] = ..., competitor_price: _Optional[float] = ..., reference_competitor_price: _Optional[float] = ..., inventory: _Optional[float] = ..., elasticity: _Optional[float] = ..., explore: bool = ..., seed: _Optional[int] = ...) -> None: ...

class LiveProposal(_message.Message):
    __slots__ = ("action", "price", "source", "reason", "elasticity", "elasticity_source", "expected_units_per_day", "expected_profit_per_day", "interval", "missing")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_UNITS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PROFIT_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    action: str
    price: float
    source: str
    reason: str
    elasticity: float
    elasticity_source: str
    expected_units_per_day: float
    expected_profit_per_day: float
    interval: _containers.RepeatedScalarFieldContainer[float]
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, action: _Optional[str] = ..., price: _Optional[float] = ..., source: _Optional[str] = ..., reason: _Optional[str] = ..., elasticity: _Optional[float] = ..., elasticity_source: _Optional[str] = ..., expected_units_per_day: _Optional[float] = ..., expected_profit_per_day: _Optional[float] = ..., interval: _Optional[_Iterable[float]] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...

class PricingResponse(_message.Message):
    __slots__ = ("price", "expected_quantity", "expected_profit", "expected_revenue", "quantity_low", "quantity_high", "bound_hit", "elasticity", "elasticity_source", "reason")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PROFIT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVENUE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_LOW_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_HIGH_FIELD_NUMBER: _ClassVar[int]
    BOUND_HIT_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    price: float
    expected_quantity: float
    expected_profit: float
    expected_revenue: float
    quantity_low: float
    quantity_high: float
    bound_hit: str
    elasticity: float
    elasticity_source: str
    reason: str
    def __init__(self, price: _Optional[float] = ..., expected_quantity: _Optional[float] = ..., expected_profit: _Optional[float] = ..., expected_revenue: _Optional[float] = ..., quantity_low: _Optional[float] = ..., quantity_high: _Optional[float] = ..., bound_hit: _Optional[str] = ..., elasticity: _Optional[float] = ..., elasticity_source: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SummaryRequest(_message.Message):
    __slots__ = ("document", "max_sentences", "diversity")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    MAX_SENTENCES_FIELD_NUMBER: _ClassVar[int]
    DIVERSITY_FIELD_NUMBER: _ClassVar[int]
    document: str
    max_sentences: int
    diversity: float
    def __init__(self, document: _Optional[str] = ..., max_sentences: _Optional[int] = ..., diversity: _Optional[float] = ...) -> None: ...

class SummaryResponse(_message.Message):
    __slots__ = ("summary", "sentences", "total_sentences", "method")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SENTENCES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    summary: str
    sentences: _containers.RepeatedScalarFieldContainer[str]
    total_sentences: int
    method: str
    def __init__(self, summary: _Optional[str] = ..., sentences: _Optional[_Iterable[str]] = ..., total_sentences: _Optional[int] = ..., method: _Optional[str] = ...) -> None: ...

class TranscriptChunk(_message.Message):
    __slots__ = ("speaker", "text")
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    speaker: str
    text: str
    def __init__(self, speaker: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class TranscriptAnalysis(_message.Message):
    __slots__ = ("segments", "mean_score", "overall_label", "summary", "chunks")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    MEAN_SCORE_FIELD_NUMBER: _ClassVar[int]
    OVERALL_LABEL_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[SentimentResult]
    mean_score: float
    overall_label: str
    summary: str
    chunks: int
    def __init__(self, segments: _Optional[_Iterable[_Union[SentimentResult, _Mapping]]] = ..., mean_score: _Optional[float] = ..., overall_label: _Optional[str] = ..., summary: _Optional[str] = ..., chunks: _Optional[int] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("data", "profile", "language", "speakers", "rep")
    DATA_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SPEAKERS_FIELD_NUMBER: _ClassVar[int]
    REP_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    profile: str
    language: str
    speakers: int
    rep: str
    def __init__(self, data: _Optional[bytes] = ..., profile: _Optional[str] = ..., language: _Optional[str] = ..., speakers: _Optional[int] = ..., rep: _Optional[str] = ...) -> None: ...

class VoiceSegment(_message.Message):
    __slots__ = ("start", "end", "text", "label", "score", "speaker")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    start: float
    end: float
    text: str
    label: str
    score: float
    speaker: str
    def __init__(self, start: _Optional[float] = ..., end: _Optional[float] = ..., text: _Optional[str] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., speaker: _Optional[str] = ...) -> None: ...

class VoiceTurn(_message.Message):
    __slots__ = ("speaker", "start", "end")
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    speaker: str
    start: float
    end: float
    def __init__(self, speaker: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ...) -> None: ...

class VoiceSpeaker(_message.Message):
    __slots__ = ("speaker", "role", "talk_s", "talk_ratio", "share_of_speech", "words", "words_per_minute", "turns", "longest_monologue_s", "interruptions", "label", "score")
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TALK_S_FIELD_NUMBER: _ClassVar[int]
    TALK_RATIO_FIELD_NUMBER: _ClassVar[int]
    SHARE_OF_SPEECH_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    WORDS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    LONGEST_MONOLOGUE_S_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTIONS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    speaker: str
    role: str
    talk_s: float
    talk_ratio: float
    share_of_speech: float
    words: int
    words_per_minute: float
    turns: int
    longest_monologue_s: float
    interruptions: int
    label: str
    score: float
    def __init__(self, speaker: _Optional[str] = ..., role: _Optional[str] = ..., talk_s: _Optional[float] = ..., talk_ratio: _Optional[float] = ..., share_of_speech: _Optional[float] = ..., words: _Optional[int] = ..., words_per_minute: _Optional[float] = ..., turns: _Optional[int] = ..., longest_monologue_s: _Optional[float] = ..., interruptions: _Optional[int] = ..., label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class VoiceAnalysisResponse(_message.Message):
    __slots__ = ("transcript", "duration_s", "speaking_ratio", "silence_ratio", "words_per_minute", "keywords", "segments", "real_time_factor", "overall_label", "profile", "no_speech", "turns", "speakers")
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    SPEAKING_RATIO_FIELD_NUMBER: _ClassVar[int]
    SILENCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    WORDS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    REAL_TIME_FACTOR_FIELD_NUMBER: _ClassVar[int]
    OVERALL_LABEL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    NO_SPEECH_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    SPEAKERS_FIELD_NUMBER: _ClassVar[int]
    transcript: str
    duration_s: float
    speaking_ratio: float
    silence_ratio: float
    words_per_minute: float
    keywords: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedCompositeFieldContainer[VoiceSegment]
    real_time_factor: float
    overall_label: str
    profile: str
    no_speech: bool
    turns: _containers.RepeatedCompositeFieldContainer[VoiceTurn]
    speakers: _containers.RepeatedCompositeFieldContainer[VoiceSpeaker]
    def __init__(self, transcript: _Optional[str] = ..., duration_s: _Optional[float] = ..., speaking_ratio: _Optional[float] = ..., silence_ratio: _Optional[float] = ..., words_per_minute: _Optional[float] = ..., keywords: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[_Union[VoiceSegment, _Mapping]]] = ..., real_time_factor: _Optional[float] = ..., overall_label: _Optional[str] = ..., profile: _Optional[str] = ..., no_speech: bool = ..., turns: _Optional[_Iterable[_Union[VoiceTurn, _Mapping]]] = ..., speakers: _Optional[_Iterable[_Union[VoiceSpeaker, _Mapping]]] = ...) -> None: ...

class LiveAudio(_message.Message):
    __slots__ = ("data", "profile", "language", "encoding")
    DATA_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    profile: str
    language: str
    encoding: str
    def __init__(self, data: _Optional[bytes] = ..., profile: _Optional[str] = ..., language: _Optional[str] = ..., encoding: _Optional[str] = ...) -> None: ...

class LiveUpdate(_message.Message):
    __slots__ = ("type", "audio_s", "text", "start", "end", "label", "score", "analysis")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_S_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    type: str
    audio_s: float
    text: str
    start: float
    end: float
    label: str
    score: float
    analysis: VoiceAnalysisResponse
    def __init__(self, type: _Optional[str] = ..., audio_s: _Optional[float] = ..., text: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., analysis: _Optional[_Union[VoiceAnalysisResponse, _Mapping]] = ...) -> None: ...

class VisionRequest(_message.Message):
    __slots__ = ("media", "is_video", "fps")
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    IS_VIDEO_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    media: bytes
    is_video: bool
    fps: float
    def __init__(self, media: _Optional[bytes] = ..., is_video: bool = ..., fps: _Optional[float] = ...) -> None: ...

class VisionFrame(_message.Message):
    __slots__ = ("timestamp_s", "face_present", "attention", "engagement", "emotion")
    TIMESTAMP_S_FIELD_NUMBER: _ClassVar[int]
    FACE_PRESENT_FIELD_NUMBER: _ClassVar[int]
    ATTENTION_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    timestamp_s: float
    face_present: bool
    attention: float
    engagement: float
    emotion: str
    def __init__(self, timestamp_s: _Optional[float] = ..., face_present: bool = ..., attention: _Optional[float] = ..., engagement: _Optional[float] = ..., emotion: _Optional[str] = ...) -> None: ...

class VisionResponse(_message.Message):
    __slots__ = ("frames", "duration_s", "face_presence_ratio", "mean_attention", "mean_engagement", "emotion_mix", "dominant_emotion", "ms_per_frame", "timeline")
    class EmotionMixEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    FACE_PRESENCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    MEAN_ATTENTION_FIELD_NUMBER: _ClassVar[int]
    MEAN_ENGAGEMENT_FIELD_NUMBER: _ClassVar[int]
    EMOTION_MIX_FIELD_NUMBER: _ClassVar[int]
    DOMINANT_EMOTION_FIELD_NUMBER: _ClassVar[int]
    MS_PER_FRAME_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    frames: int
    duration_s: float
    face_presence_ratio: float
    mean_attention: float
    mean_engagement: float
    emotion_mix: _containers.ScalarMap[str, float]
    dominant_emotion: str
    ms_per_frame: float
    timeline: _containers.RepeatedCompositeFieldContainer[VisionFrame]
    def __init__(self, frames: _Optional[int] = ..., duration_s: _Optional[float] = ..., face_presence_ratio: _Optional[float] = ..., mean_attention: _Optional[float] = ..., mean_engagement: _Optional[float] = ..., emotion_mix: _Optional[_Mapping[str, float]] = ..., dominant_emotion: _Optional[str] = ..., ms_per_frame: _Optional[float] = ..., timeline: _Optional[_Iterable[_Union[VisionFrame, _Mapping]]] = ...) -> None: ...

class PrePeriod(_message.Message):
    __slots__ = ("sum_x", "sum_x2", "sum_xy")
    SUM_X_FIELD_NUMBER: _ClassVar[int]
    SUM_X2_FIELD_NUMBER: _ClassVar[int]
    SUM_XY_FIELD_NUMBER: _ClassVar[int]
    sum_x: float
    sum_x2: float
    sum_xy: float
    def __init__(self, sum_x: _Optional[float] = ..., sum_x2: _Optional[float] = ..., sum_xy: _Optional[float] = ...) -> None: ...

class ArmInput(_message.Message):
    __slots__ = ("name", "recipients", "conversions", "revenue", "weight", "pre_period")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PRE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    name: str
    recipients: int
    conversions: int
    revenue: _containers.RepeatedScalarFieldContainer[float]
    weight: float
    pre_period: PrePeriod
    def __init__(self, name: _Optional[str] = ..., recipients: _Optional[int] = ..., conversions: _Optional[int] = ..., revenue: _Optional[_Iterable[float]] = ..., weight: _Optional[float] = ..., pre_period: _Optional[_Union[PrePeriod, _Mapping]] = ...) -> None: ...

class ExperimentRequest(_message.Message):
    __slots__ = ("arms", "control", "metric", "alpha", "min_recipients", "min_share", "equivalence_margin", "mixture_scale", "draws", "seed")
    ARMS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    MIN_RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    MIN_SHARE_FIELD_NUMBER: _ClassVar[int]
    EQUIVALENCE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    MIXTURE_SCALE_FIELD_NUMBER: _ClassVar[int]
    DRAWS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    arms: _containers.RepeatedCompositeFieldContainer[ArmInput]
    control: str
    metric: str
    alpha: float
    min_recipients: int
    min_share: float
    equivalence_margin: float
    mixture_scale: float
    draws: int
    seed: int
    def __init__(self, arms: _Optional[_Iterable[_Union[ArmInput, _Mapping]]] = ..., control: _Optional[str] = ..., metric: _Optional[str] = ..., alpha: _Optional[float] = ..., min_recipients: _Optional[int] = ..., min_share: _Optional[float] = ..., equivalence_margin: _Optional[float] = ..., mixture_scale: _Optional[float] = ..., draws: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ArmResult(_message.Message):
    __slots__ = ("name", "recipients", "conversions", "mean", "interval", "p_best", "expected_loss", "lift", "allocation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    P_BEST_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LOSS_FIELD_NUMBER: _ClassVar[int]
    LIFT_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    recipients: int
    conversions: int
    mean: float
    interval: _containers.RepeatedScalarFieldContainer[float]
    p_best: float
    expected_loss: float
    lift: float
    allocation: float
    def __init__(self, name: _Optional[str] = ..., recipients: _Optional[int] = ..., conversions: _Optional[int] = ..., mean: _Optional[float] = ..., interval: _Optional[_Iterable[float]] = ..., p_best: _Optional[float] = ..., expected_loss: _Optional[float] = ..., lift: _Optional[float] = ..., allocation: _Optional[float] = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("arm", "versus", "difference", "interval", "always_valid_p", "significant")
    ARM_FIELD_NUMBER: _ClassVar[int]
    VERSUS_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    ALWAYS_VALID_P_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    arm: str
    versus: str
    difference: float
    interval: _containers.RepeatedScalarFieldContainer[float]
    always_valid_p: float
    significant: bool
    def __init__(self, arm: _Optional[str] = ..., versus: _Optional[str] = ..., difference: _Optional[float] = ..., interval: _Optional[_Iterable[float]] = ..., always_valid_p: _Optional[float] = ..., significant: bool = ...) -> None: ...

class SampleRatio(_message.Message):
    __slots__ = ("p_value", "alert", "expected", "observed")
    class ExpectedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ObservedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    p_value: float
    alert: bool
    expected: _containers.ScalarMap[str, float]
    observed: _containers.ScalarMap[str, float]
    def __init__(self, p_value: _Optional[float] = ..., alert: bool = ..., expected: _Optional[_Mapping[str, float]] = ..., observed: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Cuped(_message.Message):
    __slots__ = ("theta", "variance_reduction")
    THETA_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_REDUCTION_FIELD_NUMBER: _ClassVar[int]
    theta: float
    variance_reduction: float
    def __init__(self, theta: _Optional[float] = ..., variance_reduction: _Optional[float] = ...) -> None: ...

class ExperimentAnalysis(_message.Message):
    __slots__ = ("metric", "decision", "winner", "reason", "missing", "arms", "comparisons", "sample_ratio", "cuped", "allocation", "alpha")
    class AllocationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    METRIC_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    WINNER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATIO_FIELD_NUMBER: _ClassVar[int]
    CUPED_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    metric: str
    decision: str
    winner: str
    reason: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    arms: _containers.RepeatedCompositeFieldContainer[ArmResult]
    comparisons: _containers.RepeatedCompositeFieldContainer[Comparison]
    sample_ratio: SampleRatio
    cuped: Cuped
    allocation: _containers.ScalarMap[str, float]
    alpha: float
    def __init__(self, metric: _Optional[str] = ..., decision: _Optional[str] = ..., winner: _Optional[str] = ..., reason: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ..., arms: _Optional[_Iterable[_Union[ArmResult, _Mapping]]] = ..., comparisons: _Optional[_Iterable[_Union[Comparison, _Mapping]]] = ..., sample_ratio: _Optional[_Union[SampleRatio, _Mapping]] = ..., cuped: _Optional[_Union[Cuped, _Mapping]] = ..., allocation: _Optional[_Mapping[str, float]] = ..., alpha: _Optional[float] = ...) -> None: ...

class Journey(_message.Message):
    __slots__ = ("touches", "days_before", "converted", "value", "count")
    TOUCHES_FIELD_NUMBER: _ClassVar[int]
    DAYS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    touches: _containers.RepeatedScalarFieldContainer[str]
    days_before: _containers.RepeatedScalarFieldContainer[float]
    converted: bool
    value: float
    count: int
    def __init__(self, touches: _Optional[_Iterable[str]] = ..., days_before: _Optional[_Iterable[float]] = ..., converted: bool = ..., value: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class AttributionRequest(_message.Message):
    __slots__ = ("journeys", "channels", "models", "markov_order", "half_life_days", "spend", "shapley_samples", "seed")
    class SpendEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    JOURNEYS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    MARKOV_ORDER_FIELD_NUMBER: _ClassVar[int]
    HALF_LIFE_DAYS_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    SHAPLEY_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    journeys: _containers.RepeatedCompositeFieldContainer[Journey]
    channels: _containers.RepeatedScalarFieldContainer[str]
    models: _containers.RepeatedScalarFieldContainer[str]
    markov_order: int
    half_life_days: float
    spend: _containers.ScalarMap[str, float]
    shapley_samples: int
    seed: int
    def __init__(self, journeys: _Optional[_Iterable[_Union[Journey, _Mapping]]] = ..., channels: _Optional[_Iterable[str]] = ..., models: _Optional[_Iterable[str]] = ..., markov_order: _Optional[int] = ..., half_life_days: _Optional[float] = ..., spend: _Optional[_Mapping[str, float]] = ..., shapley_samples: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ChannelCredit(_message.Message):
    __slots__ = ("channel", "conversions", "revenue", "share", "spend", "roas", "cpa")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    ROAS_FIELD_NUMBER: _ClassVar[int]
    CPA_FIELD_NUMBER: _ClassVar[int]
    channel: str
    conversions: float
    revenue: float
    share: float
    spend: float
    roas: float
    cpa: float
    def __init__(self, channel: _Optional[str] = ..., conversions: _Optional[float] = ..., revenue: _Optional[float] = ..., share: _Optional[float] = ..., spend: _Optional[float] = ..., roas: _Optional[float] = ..., cpa: _Optional[float] = ...) -> None: ...

class AttributionResult(_message.Message):
    __slots__ = ("model", "channels")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    model: str
    channels: _containers.RepeatedCompositeFieldContainer[ChannelCredit]
    def __init__(self, model: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[ChannelCredit, _Mapping]]] = ...) -> None: ...

class AttributionResponse(_message.Message):
    __slots__ = ("state", "reason", "journeys", "conversions", "revenue", "results")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    JOURNEYS_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    state: str
    reason: str
    journeys: int
    conversions: float
    revenue: float
    results: _containers.RepeatedCompositeFieldContainer[AttributionResult]
    def __init__(self, state: _Optional[str] = ..., reason: _Optional[str] = ..., journeys: _Optional[int] = ..., conversions: _Optional[float] = ..., revenue: _Optional[float] = ..., results: _Optional[_Iterable[_Union[AttributionResult, _Mapping]]] = ...) -> None: ...

class ChannelSpend(_message.Message):
    __slots__ = ("name", "spend", "current", "min_spend", "max_spend")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEND_FIELD_NUMBER: _ClassVar[int]
    MAX_SPEND_FIELD_NUMBER: _ClassVar[int]
    name: str
    spend: _containers.RepeatedScalarFieldContainer[float]
    current: float
    min_spend: float
    max_spend: float
    def __init__(self, name: _Optional[str] = ..., spend: _Optional[_Iterable[float]] = ..., current: _Optional[float] = ..., min_spend: _Optional[float] = ..., max_spend: _Optional[float] = ...) -> None: ...

class BudgetRequest(_message.Message):
    __slots__ = ("channels", "outcome", "budget", "target", "bootstrap", "seed")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelSpend]
    outcome: _containers.RepeatedScalarFieldContainer[float]
    budget: float
    target: str
    bootstrap: int
    seed: int
    def __init__(self, channels: _Optional[_Iterable[_Union[ChannelSpend, _Mapping]]] = ..., outcome: _Optional[_Iterable[float]] = ..., budget: _Optional[float] = ..., target: _Optional[str] = ..., bootstrap: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ChannelPlan(_message.Message):
    __slots__ = ("channel", "current", "recommended", "outcome_current", "outcome_recommended", "marginal_return", "carryover", "half_saturation", "shape", "max_effect")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_CURRENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    MARGINAL_RETURN_FIELD_NUMBER: _ClassVar[int]
    CARRYOVER_FIELD_NUMBER: _ClassVar[int]
    HALF_SATURATION_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    MAX_EFFECT_FIELD_NUMBER: _ClassVar[int]
    channel: str
    current: float
    recommended: float
    outcome_current: float
    outcome_recommended: float
    marginal_return: float
    carryover: float
    half_saturation: float
    shape: float
    max_effect: float
    def __init__(self, channel: _Optional[str] = ..., current: _Optional[float] = ..., recommended: _Optional[float] = ..., outcome_current: _Optional[float] = ..., outcome_recommended: _Optional[float] = ..., marginal_return: _Optional[float] = ..., carryover: _Optional[float] = ..., half_saturation: _Optional[float] = ..., shape: _Optional[float] = ..., max_effect: _Optional[float] = ...) -> None: ...

class BudgetPlan(_message.Message):
    __slots__ = ("state", "reason", "target", "budget", "fit_r2", "channels", "outcome_current", "outcome_recommended", "gain", "gain_interval")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    FIT_R2_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_CURRENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    GAIN_FIELD_NUMBER: _ClassVar[int]
    GAIN_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    state: str
    reason: str
    target: str
    budget: float
    fit_r2: float
    channels: _containers.RepeatedCompositeFieldContainer[ChannelPlan]
    outcome_current: float
    outcome_recommended: float
    gain: float
    gain_interval: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, state: _Optional[str] = ..., reason: _Optional[str] = ..., target: _Optional[str] = ..., budget: _Optional[float] = ..., fit_r2: _Optional[float] = ..., channels: _Optional[_Iterable[_Union[ChannelPlan, _Mapping]]] = ..., outcome_current: _Optional[float] = ..., outcome_recommended: _Optional[float] = ..., gain: _Optional[float] = ..., gain_interval: _Optional[_Iterable[float]] = ...) -> None: ...

class PaceRequest(_message.Message):
    __slots__ = ("daily_budget", "spent", "hour", "profile")
    DAILY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    SPENT_FIELD_NUMBER: _ClassVar[int]
    HOUR_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    daily_budget: float
    spent: float
    hour: float
    profile: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, daily_budget: _Optional[float] = ..., spent: _Optional[float] = ..., hour: _Optional[float] = ..., profile: _Optional[_Iterable[float]] = ...) -> None: ...

class Pace(_message.Message):
    __slots__ = ("target_spent", "remaining", "next_hour", "multiplier", "state")
    TARGET_SPENT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    NEXT_HOUR_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    target_spent: float
    remaining: float
    next_hour: float
    multiplier: float
    state: str
    def __init__(self, target_spent: _Optional[float] = ..., remaining: _Optional[float] = ..., next_hour: _Optional[float] = ..., multiplier: _Optional[float] = ..., state: _Optional[str] = ...) -> None: ...
